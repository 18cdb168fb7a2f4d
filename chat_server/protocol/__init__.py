"""Wire protocols, one module per audience: ``visitor`` (widget) and ``agent`` (console).

Each module holds its event names and payload schemas; the widget's and the
console's JavaScript constants are generated from them (``chat_server.protocol.js``).
"""
