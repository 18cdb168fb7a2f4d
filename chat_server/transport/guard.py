"""The last line of defence for sockets: no packet and no exception goes unanswered.

Handlers validate what they can and answer domain errors themselves. This
module catches everything else, for both namespaces:

- :class:`GuardedNamespace` (the base of both namespaces) answers unknown
  events and extra arguments with a clear refusal, and turns any exception a
  handler raises (a bug, a database fault) into ``internal_error``: logged
  with its traceback for the operator, while the client learns only that
  something went wrong — stack text would help an attacker and confuse a
  visitor.
- :class:`GuardedServer` answers packets that cannot even be decoded (JSON
  nested 10,000 deep, a malformed frame) with ``invalid_payload`` instead of
  a logged traceback and silence.

A refusal goes back as the ack (``{"ok": false, <key>: code, "message"}``)
when the client asked for one, and as an ``error`` event on namespaces that
have one (the visitor's: Rasa clients use no acks).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from typing import Any

import socketio
from aiohttp import web
from socketio import packet

from chat_server import metrics
from chat_server.db.availability import AVAILABILITY
from chat_server.db.engine import is_unavailable
from chat_server.protocol import visitor as visitor_protocol
from chat_server.transport.admission import Admission

log = logging.getLogger(__name__)

INTERNAL_ERROR = "internal_error"
INTERNAL_MESSAGE = "Something went wrong; please try again."
INVALID_PAYLOAD = "invalid_payload"
UNKNOWN_EVENT = "unknown_event"
# The database is unreachable: nothing was stored, send it again shortly.
UNAVAILABLE = visitor_protocol.UNAVAILABLE
UNAVAILABLE_MESSAGE = "Messages cannot be saved right now; retrying shortly."
UNAVAILABLE_RETRY_SECONDS = 2
# How long closing an unidentified connection may wait for its send queue.
CLOSE_WAIT_SECONDS = 2.0

# type, optional "<n>-" attachment count, optional "/namespace,", optional ack id
_HEADER = re.compile(r"^[0-6](?:\d{1,10}-)?(?:(/[^,]*),)?(\d{1,20})?")


class GuardedNamespace(socketio.AsyncNamespace):
    """A namespace whose every event is answered, whatever the client sends."""

    # Event emitted with ``{"code", "message"}`` on a refusal (None: ack only).
    error_event: str | None = None
    # The key of the code in a refused ack: "code" (visitor), "error" (agent API).
    error_key = "code"

    def refusal(self, code: str, message: str) -> dict[str, Any]:
        """The ack of a refused or failed event."""
        return {"ok": False, self.error_key: code, "message": message}

    async def refuse(self, sid: str, code: str, message: str) -> dict[str, Any]:
        """Emit the error event (if this namespace has one); return the ack."""
        metrics.ERRORS.labels(f"socket_{code}").inc()
        if self.error_event is not None:
            try:
                await self.emit(self.error_event, {"code": code, "message": message}, to=sid)
            except Exception:
                # The socket may be gone already; nothing else to tell.
                log.debug("could not send %s to %s", code, sid, exc_info=True)
        return self.refusal(code, message)

    async def trigger_event(self, event: str, *args: Any) -> Any:
        if event in ("connect", "disconnect"):
            return await self._lifecycle(event, *args)
        sid = args[0]
        if not callable(getattr(self, f"on_{event}", None)):
            return await self.refuse(sid, UNKNOWN_EVENT, "Unknown event.")
        if len(args) > 2:  # every event takes one payload
            return await self.refuse(sid, INVALID_PAYLOAD, f"{event} takes one payload.")
        try:
            return await super().trigger_event(event, *args)
        except Exception as error:
            if is_unavailable(error):
                # An outage, not a bug: no traceback (one log line per outage,
                # db/availability.py); clients retry on this code.
                AVAILABILITY.failed(error, f"{self.namespace} {event}")
                ack = await self.refuse(sid, UNAVAILABLE, UNAVAILABLE_MESSAGE)
                return {**ack, "retry_after": UNAVAILABLE_RETRY_SECONDS}
            log.exception("%s event %s failed on socket %s", self.namespace, event, sid)
            return await self.refuse(sid, INTERNAL_ERROR, INTERNAL_MESSAGE)

    async def _lifecycle(self, event: str, *args: Any) -> Any:
        try:
            return await super().trigger_event(event, *args)
        except socketio.exceptions.ConnectionRefusedError:
            raise
        except Exception as error:
            outage = is_unavailable(error)
            if outage:
                AVAILABILITY.failed(error, f"{self.namespace} {event}")
            else:
                log.exception("%s %s failed on socket %s", self.namespace, event, args[0])
            if event == "connect":
                # An outage: the client reconnects later, as after any refusal.
                code = UNAVAILABLE if outage else INTERNAL_ERROR
                raise socketio.exceptions.ConnectionRefusedError(code) from None
            return None


class GuardedServer(socketio.AsyncServer):
    """A Socket.IO server that answers malformed packets instead of logging tracebacks,
    and admits Engine.IO connections through an :class:`Admission` (when given one)."""

    admission: Admission | None = None

    def admit_with(self, admission: Admission) -> None:
        """Count and time every Engine.IO connection (transport/admission.py)."""
        self.admission = admission
        admission.close = self._close_unidentified

    async def _handle_eio_connect(self, eio_sid: str, environ: dict[str, Any]) -> Any:
        # Engine.IO's connect handler: a returned value other than None/True
        # refuses the connection (HTTP 401 with that value as the body).
        if self.admission is not None:
            refusal = await self.admission.admit(eio_sid, environ)
            if refusal is not None:
                return refusal
        return await super()._handle_eio_connect(eio_sid, environ)

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any) -> None:
        try:
            await super()._handle_eio_disconnect(eio_sid, reason)
        finally:
            if self.admission is not None:
                self.admission.released(eio_sid)

    async def _handle_connect(self, eio_sid: str, namespace: str | None, data: Any) -> None:
        await super()._handle_connect(eio_sid, namespace, data)
        namespace = namespace or "/"
        # An authenticated namespace (the console's /agent) identifies the
        # connection by connecting; the visitor namespace by asking for a session.
        if (
            namespace != "/"
            and self.admission is not None
            and self.manager.sid_from_eio_sid(eio_sid, namespace) is not None
        ):
            self.admission.identified(eio_sid)

    def identified(self, sid: str, namespace: str = "/") -> None:
        """The socket ``sid`` identified itself: its connection may stay open."""
        eio_sid = self.manager.eio_sid_from_sid(sid, namespace)
        if self.admission is not None and eio_sid is not None:
            self.admission.identified(eio_sid)

    def limit_key(self, sid: str, namespace: str = "/") -> str:
        """The per-address limit key of socket ``sid``'s connection."""
        eio_sid = self.manager.eio_sid_from_sid(sid, namespace)
        if self.admission is None or eio_sid is None:
            return "unknown"
        return self.admission.key(eio_sid)

    async def _close_unidentified(self, eio_sid: str) -> None:
        """Tell a visitor socket why, then close the connection."""
        environ = self.environ.get(eio_sid, {})
        sid = self.manager.sid_from_eio_sid(eio_sid, "/")
        if sid is not None:
            with contextlib.suppress(Exception):
                await self._send_packet(
                    eio_sid,
                    self.packet_class(
                        packet.EVENT,
                        namespace="/",
                        data=[
                            visitor_protocol.ERROR,
                            {
                                "code": visitor_protocol.IDENTIFY_TIMEOUT,
                                "message": "No session was requested.",
                            },
                        ],
                    ),
                )
        try:
            await asyncio.wait_for(self.eio.disconnect(eio_sid), CLOSE_WAIT_SECONDS)
        except Exception:
            log.debug("closing unidentified connection %s", eio_sid, exc_info=True)
        # Engine.IO only sends a "close" packet and waits for the client to
        # hang up (up to its ping timeout); a client that never identified
        # gets no such patience: its websocket's TCP connection is closed.
        request = environ.get("aiohttp.request")
        if (
            "transport=websocket" in str(environ.get("QUERY_STRING", ""))
            and isinstance(request, web.BaseRequest)
            and request.transport is not None
        ):
            request.transport.close()

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        # Overrides python-socketio's dispatcher (pinned in requirements.lock):
        # decoding errors raised here would otherwise be logged by engine.io
        # as "message handler error" with a traceback, and the client would
        # hear nothing.
        # Engine.IO reads a connection's next packet only after this returns,
        # so a packet that waits for its address's budget also stops the
        # reading of its connection (transport/admission.py, Pacer).
        if self.admission is not None:
            await self.admission.pace(eio_sid)
        try:
            await super()._handle_eio_message(eio_sid, data)
        except Exception as exc:
            self._binary_packet.pop(eio_sid, None)
            log.warning("unreadable packet from %s: %s", eio_sid, type(exc).__name__)
            await self._refuse_packet(eio_sid, data)

    async def _handle_event(self, eio_sid: str, namespace: str | None, id: Any, data: Any) -> None:
        # python-socketio dispatches any event name a client sends, even
        # "connect" and "disconnect": a client could run its own disconnect
        # handler while staying connected. Only real events get through.
        if not isinstance(data, list) or not data or not isinstance(data[0], str):
            await self._refuse(eio_sid, namespace, id, INVALID_PAYLOAD, "Not an event.")
        elif data[0] in self.reserved_events:
            await self._refuse(eio_sid, namespace, id, UNKNOWN_EVENT, "Unknown event.")
        else:
            await super()._handle_event(eio_sid, namespace, id, data)

    async def _refuse_packet(self, eio_sid: str, data: Any) -> None:
        """Tell the sender its packet was unreadable, as far as its header can be read."""
        header = _HEADER.match(data) if isinstance(data, str) else None
        if header is None:
            return  # not even a header (a stray binary frame): nothing to answer
        namespace = header.group(1) or "/"
        if data.startswith(str(packet.CONNECT)):
            # Unreadable auth: refuse the connection rather than leave it pending.
            await self._send_packet(
                eio_sid,
                self.packet_class(
                    packet.CONNECT_ERROR, data={"message": INVALID_PAYLOAD}, namespace=namespace
                ),
            )
            return
        ack_id = int(header.group(2)) if header.group(2) is not None else None
        await self._refuse(
            eio_sid, namespace, ack_id, INVALID_PAYLOAD, "The server could not read that packet."
        )

    async def _refuse(
        self, eio_sid: str, namespace: str | None, ack_id: int | None, code: str, message: str
    ) -> None:
        """The namespace's refusal: its error event, and the ack if one was asked for."""
        namespace = namespace or "/"
        sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
        handler = self.namespace_handlers.get(namespace)
        if sid is None or not isinstance(handler, GuardedNamespace):
            return  # not connected to that namespace: nobody to answer
        ack = await handler.refuse(sid, code, message)
        if ack_id is not None:
            await self._send_packet(
                eio_sid,
                self.packet_class(packet.ACK, namespace=namespace, id=ack_id, data=[ack]),
            )
