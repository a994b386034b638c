"""What the desktop windows share: the style, tasks on the qasync loop, the server selector, the keypad."""
