"""What runs beside the event loop in a server or worker process: in-process publish/subscribe (`events`) and the
child processes that keep numpy work off the loop (`predictions`, and the pipes they read, `pipes`)."""
