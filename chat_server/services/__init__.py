"""Domain services. They never import socketio: transports pass a Notifier."""
