"""The dial engine: telephones dialling in, and dial-out participants of VTGs."""
