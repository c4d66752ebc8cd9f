"""Data: the embedded synthetic benchmark, on-disk layouts and clip samplers; each yields
:class:`i2vlib.clip_record.Clip`."""
