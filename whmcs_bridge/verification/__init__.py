"""Ownership verification before account changes.

The policy: when a request does not come from a customer logged in to the client area,
changing a hosting package, changing customer details and installing software need proof of
ownership, and support is refused without it. This package recognises such requests
(:mod:`.classify`), decides whether proof is needed (:mod:`.policy`), checks proofs against
WHMCS without ever storing them (:mod:`.proofs`), issues single-use signed e-mail links
(:mod:`.tokens`), locks out guessing (:mod:`.lockout`), keeps credentials typed into tickets out
of everything we store (:mod:`.redact`) and answers the synchronous gates from the store alone
(:mod:`.policy`, :mod:`.store`). :mod:`.service` ties them together for the hook handlers, the
staff API and the CLI.
"""

from __future__ import annotations

#: The three kinds of account change the policy names.
PACKAGE_CHANGE = "package_change"
CUSTOMER_DETAILS_CHANGE = "customer_details_change"
SOFTWARE_INSTALL = "software_install"
CHANGE_KINDS = (PACKAGE_CHANGE, CUSTOMER_DETAILS_CHANGE, SOFTWARE_INSTALL)

#: Ticket verification states (the staff API's ``verification.state``).
NOT_REQUIRED = "not_required"
REQUIRED = "required"
VERIFIED = "verified"
LOCKED = "locked"
REFUSED = "refused"
STATES = (NOT_REQUIRED, REQUIRED, VERIFIED, LOCKED, REFUSED)

#: The outcome of an attempt reserved but not yet checked against WHMCS: it counts towards
#: the lockout like a failure until it is resolved (a crash in between fails closed).
PENDING = "pending"

#: Proof methods.
CLIENT_LOGIN = "client_login"
SERVICE_LOGIN = "service_login"
CARD_LAST4 = "card_last4"
PAYMENT = "payment"
IN_PERSON = "in_person"
LINK = "link"
METHODS = (CLIENT_LOGIN, SERVICE_LOGIN, CARD_LAST4, PAYMENT, IN_PERSON, LINK)
#: Proofs that stay acceptable when a client is locked out (they cannot be guessed).
STRONG_METHODS = frozenset({IN_PERSON, LINK})
#: Proofs whose failures count towards the lockout (they can be guessed).
GUESSABLE_METHODS = frozenset({CLIENT_LOGIN, SERVICE_LOGIN, CARD_LAST4, PAYMENT})
