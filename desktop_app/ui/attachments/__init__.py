"""Attachments in the composer: the attachment model and the drop pane."""
