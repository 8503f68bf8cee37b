"""The WHMCS hook point names the bridge knows (reference sections 4.2–4.5).

A handler registered for a name not listed here fails at start-up: a typo such as
``TicketUserReplied`` must never silently register a handler that can never run.
"""

from __future__ import annotations

TICKET_HOOKS = frozenset({
    "TicketOpen", "TicketOpenAdmin", "TicketOpenValidation", "TicketUserReply",
    "TicketAdminReply", "TicketAddNote", "TicketStatusChange", "TicketPriorityChange",
    "TicketDepartmentChange", "TicketSubjectChange", "TicketFlagged", "TicketClose",
    "TicketDelete", "TicketDeleteReply", "TicketMerge", "TicketSplit", "TicketPiping",
    "TransliterateTicketText", "SubmitTicketAnswerSuggestions", "AdminAreaViewTicketPage",
    "AdminAreaViewTicketPageSidebar", "AdminSupportTicketPagePreTickets",
    "ClientAreaPageViewTicket", "ClientAreaPageSupportTickets", "ClientAreaPageSubmitTicket",
})

CLIENT_HOOKS = frozenset({
    "ClientDetailsValidation", "ContactDetailsValidation", "ClientEdit", "ClientAdd",
    "ClientChangePassword", "UserChangePassword", "UserEdit", "PreUserAdd", "UserAdd",
    "UserEmailVerificationComplete", "ContactAdd", "ContactEdit", "ContactDelete",
    "ClientClose", "PreDeleteClient", "UserLogin", "UserLogout", "ClientLoginShare",
    "ClientAlert",
})

SERVICE_HOOKS = frozenset({
    "PreModuleChangePackage", "AfterModuleChangePackage", "AfterModuleChangePackageFailed",
    "PreModuleCreate", "PreModuleSuspend", "PreModuleUnsuspend", "PreModuleTerminate",
    "PreModuleRenew", "PreModuleChangePassword", "AfterModuleChangePassword", "PreModuleCustom",
    "AfterModuleCustom", "OverrideModuleUsernameGeneration", "ShoppingCartValidateCheckout",
    "ShoppingCartValidateUpgrade", "ShoppingCartValidateProductUpdate",
    "ShoppingCartValidateDomainsConfig", "ShoppingCartValidateDomain", "CartSubdomainValidation",
    "PreUpgradeCheckout", "AfterProductUpgrade", "AfterConfigOptionsUpgrade", "PreServiceEdit",
    "ServiceEdit", "PreAdminServiceEdit", "AdminServiceEdit", "CancellationRequest",
    "PreRegistrarRegisterDomain", "PreRegistrarRenewDomain", "PreRegistrarTransferDomain",
    "EmailPreSend", "PreInvoiceAutomaticCancellation", "InvoicePaid", "AddInvoicePayment",
})

OTHER_HOOKS = frozenset({
    "AfterCronJob", "DailyCronJob", "DailyCronJobPreEmail", "PreCronJob", "PreAutomationTask",
    "PostAutomationTask", "PopEmailCollectionCronCompleted", "AdminLogin", "LogActivity",
    "ClientAreaPage", "AdminAreaPage",
})

#: Gate hooks: WHMCS waits for the bridge's allow/refuse answer (``POST /gates/<name>``).
GATE_HOOKS = frozenset({
    "ClientDetailsValidation", "ContactDetailsValidation", "ShoppingCartValidateUpgrade",
    "PreModuleChangePackage", "PreModuleChangePassword", "PreModuleCustom",
})

KNOWN_HOOKS = TICKET_HOOKS | CLIENT_HOOKS | SERVICE_HOOKS | OTHER_HOOKS

