"""What people do in WHMCS's pages rather than through its API, for the hooks only those pages
fire: a customer signing up (``ClientDetailsValidation`` before the client exists, then
``ClientAdd``) and staff splitting replies off a ticket (``TicketSplit``). Each fires the
hooks with their documented vars (:mod:`.hook_vars`).

Test endpoints (JSON in, JSON out; a bad field is a 400 naming it):
``POST /_sim/ui/signup`` ``{"firstname", "lastname", "email", ...}`` and
``POST /_sim/ui/split`` ``{"ticketid", "replyids": [...], "subject"?}``.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, jsonify, request

from whmcs_bridge.sim import data, hook_vars
from whmcs_bridge.sim.records import SimClient, SimReply, SimTicket
from whmcs_bridge.sim.state import SimState

#: who acts on a sign-up page: nobody is logged in (the module's Actor::detect gives "system")
SIGNUP_ACTOR: dict[str, Any] = {"type": "system", "client_id": None, "user_id": None,
                                "admin_id": None, "admin_username": None}


class UiError(ValueError):
    """A page action's input is wrong; ``field`` names what."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass
class SignUp:
    """The sign-up's outcome: the new client, or the errors the gate answered with."""

    client: SimClient | None
    errors: list[str] = field(default_factory=list)


def sign_up(state: SimState, firstname: str, lastname: str, email: str,
            **details: Any) -> SignUp:
    """A new customer submits the sign-up form (register.php). WHMCS runs
    ClientDetailsValidation on the submitted fields, with no client id (hooks-reference/
    client.md: "before adding a client or updating a client"); the addon module allows a new
    client without asking, the sim asks the bridge anyway so its own new-client rule is
    exercised. A refusal (``allow: false``) shows its message and adds nobody; no usable
    answer adds the client (the fail mode never refuses a new client)."""
    for name, value in (("firstname", firstname), ("lastname", lastname), ("email", email)):
        if not isinstance(value, str) or not value.strip():
            raise UiError(name, "is required")
    try:
        vars_ = hook_vars.new_client_details(firstname, lastname, email, **details)
    except TypeError:
        raise UiError("body", "unknown sign-up field (see hook_vars.new_client_details)"
                      ) from None
    with state.lock:
        if email.strip().lower() in state.clients_by_email:
            return SignUp(None, ["A user already exists with that email address"])
    answer = state.ask_gate("ClientDetailsValidation", vars_, SIGNUP_ACTOR)
    if answer is not None and answer.get("allow") is False:
        return SignUp(None, [str(answer.get("message") or "Refused")])
    with state.lock:
        client_id = max(state.clients, default=0) + 1
        password = data.client_password(client_id)
        client = SimClient(
            id=client_id, user_id=data.USER_ID_OFFSET + client_id,
            uuid=str(uuid.UUID(hashlib.sha256(f"{state.config.seed}:client:{client_id}"
                                              .encode()).hexdigest()[:32], version=4)),
            firstname=firstname, lastname=lastname, email=email.strip(), password=password,
            companyname=vars_["companyname"], country=vars_["country"], language="english",
            currency_code="USD", status="Active", datecreated=state.now(),
            phonenumber=vars_["phonenumber"])
        state.add_client(client)
    state.emit("ClientAdd", hook_vars.client_added(client.id, client.user_id, vars_, password,
                                                   vars_["customfield"]))
    return SignUp(client)


def split_ticket(state: SimState, ticket_id: int, reply_ids: list[int],
                 subject: str | None = None) -> SimTicket:
    """Staff split the chosen replies (never the opening message) off ``ticket_id`` into a new
    ticket, whose opening message is the first of them, then WHMCS fires TicketSplit with
    ``originalTicketId`` and ``newTicketID``. Whether WHMCS also fires TicketOpen for the new
    ticket is not documented; the sim does not."""
    with state.lock:
        ticket = state.ticket(ticket_id)
        if ticket is None:
            raise UiError("ticketid", f"ticket {ticket_id} not found")
        replies, _ = state.conversation(ticket)
        wanted = set(reply_ids)
        chosen = [r for r in replies if r.replyid in wanted and r.replyid != 0]
        if not wanted or len(chosen) != len(wanted):
            raise UiError("replyids", "must name replies of the ticket (not its opening "
                                      "message)")
        new_id = state.next_ticket_id()
        first = chosen[0]
        new = SimTicket(
            id=new_id, tid=f"SIM-{new_id:06d}",
            c=hashlib.sha256(f"{state.config.seed}:{new_id}".encode()).hexdigest()[:8],
            deptid=ticket.deptid, userid=ticket.userid, name=ticket.name, email=ticket.email,
            requestor_type=ticket.requestor_type, date=first.date,
            subject=subject or ticket.subject, status="Open", priority=ticket.priority,
            admin="", lastreply=chosen[-1].date, service=ticket.service,
            message=first.message)
        new.replies = [SimReply(0, first.date, first.message, first.userid, first.name,
                                first.email, first.requestor_type, first.admin),
                       *chosen[1:]]
        new.notes = []
        ticket.replies = [r for r in replies if r.replyid not in wanted]
        ticket.lastreply = max(r.date for r in ticket.replies)
        state.add_ticket(new)
        for reply in chosen[1:]:
            state.move_reply(reply, new)
    state.emit("TicketSplit", hook_vars.ticket_split(ticket.id, new.id))
    return new


def _error(field_name: str, message: str, status: int = 400) -> Response:
    response = jsonify(errors={field_name: [message]})
    response.status_code = status
    return response


def register(app: Flask, state: SimState) -> None:
    """Add the ``/_sim/ui/*`` endpoints to the simulator's app."""

    @app.post("/_sim/ui/signup")
    def ui_signup() -> Response:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return _error("body", "must be a JSON object")
        try:
            outcome = sign_up(state, **body)
        except UiError as exc:
            return _error(exc.field, exc.message)
        except TypeError:
            return _error("body", "firstname, lastname and email are required")
        if outcome.client is None:
            return _error("gate", "; ".join(outcome.errors), 422)
        response = jsonify(client_id=outcome.client.id, user_id=outcome.client.user_id)
        response.status_code = 201
        return response

    @app.post("/_sim/ui/split")
    def ui_split() -> Response:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return _error("body", "must be a JSON object")
        ticket_id, reply_ids = body.get("ticketid"), body.get("replyids")
        if type(ticket_id) is not int:
            return _error("ticketid", "must be an integer")
        if not isinstance(reply_ids, list) or not all(type(r) is int for r in reply_ids):
            return _error("replyids", "must be a list of integers")
        subject = body.get("subject")
        if subject is not None and not isinstance(subject, str):
            return _error("subject", "must be a string")
        try:
            new = split_ticket(state, ticket_id, reply_ids, subject)
        except UiError as exc:
            return _error(exc.field, exc.message)
        response = jsonify(ticketid=new.id, tid=new.tid)
        response.status_code = 201
        return response
