"""What the desktop applications share: the one start-up (``startup``), the style, the
login server selector, the keypad."""
