<?php

declare(strict_types=1);

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

$_ADDONLANG['fail_closed_message'] = 'We cannot confirm this change right now. Please try again in a few minutes or contact support.';
$_ADDONLANG['refused_message'] = 'This change needs proof that you own the account first. Please reply to your support ticket or contact support.';
$_ADDONLANG['bridge_unavailable'] = 'whmcs-bridge unavailable: SLA and verification details cannot be shown right now.';
$_ADDONLANG['ticket_unknown'] = 'whmcs-bridge has not seen this ticket yet.';
$_ADDONLANG['bridge_slow'] = 'whmcs-bridge is slow to answer: the SLA and verification panel was skipped so this page is not held up. Reload the page to try again.';
$_ADDONLANG['circuit_closed'] = 'Bridge calls: normal (circuit closed).';
$_ADDONLANG['circuit_open'] = 'The bridge failed at %s UTC (%s). Until %s UTC events wait in the spool and gates apply the fail mode without asking it; then one call checks it again. A successful connection test closes the circuit now.';
$_ADDONLANG['verify_title'] = 'Record an ownership verification';
$_ADDONLANG['verify_method'] = 'Method';
$_ADDONLANG['verify_submit'] = 'Submit proof';
$_ADDONLANG['verify_hint'] = 'Open a method, fill in its fields and submit. Nothing typed here is stored by WHMCS.';
$_ADDONLANG['verify_send_link'] = 'Send the link';
$_ADDONLANG['verify_field_email'] = 'Client e-mail';
$_ADDONLANG['verify_field_password'] = 'Password';
$_ADDONLANG['verify_field_service_id'] = 'Service ID';
$_ADDONLANG['verify_field_username'] = 'Service username';
$_ADDONLANG['verify_field_last4'] = 'Card last 4 digits';
$_ADDONLANG['verify_field_payment_method'] = 'Payment method (gateway)';
$_ADDONLANG['verify_field_amount'] = 'Amount paid';
$_ADDONLANG['verify_field_date'] = 'Paid on (YYYY-MM-DD)';
$_ADDONLANG['verify_field_reference'] = 'ID document / reference';
$_ADDONLANG['method_client_login'] = 'Client area login';
$_ADDONLANG['method_service_login'] = 'Service login';
$_ADDONLANG['method_card_last4'] = 'Last 4 digits of the card on file';
$_ADDONLANG['method_payment'] = 'A recent payment';
$_ADDONLANG['method_in_person'] = 'In person / ID checked';
$_ADDONLANG['method_link'] = 'Send a verification link by e-mail';
$_ADDONLANG['verify_done'] = 'The bridge recorded the verification. Verification state: %s.';
$_ADDONLANG['verify_failed'] = 'The bridge did not accept the verification: %s';
$_ADDONLANG['verify_bad_token'] = 'The form expired or was not sent from this WHMCS. Open the ticket and try again.';
$_ADDONLANG['back_to_ticket'] = 'Back to ticket #%d';
$_ADDONLANG['page_title'] = 'whmcs-bridge';
$_ADDONLANG['not_configured'] = 'Set the bridge URL and the webhook signing secret in Setup > Addon Modules first.';
$_ADDONLANG['connection_test'] = 'Test the connection';
$_ADDONLANG['test_reachable'] = 'Bridge reachable (GET /healthz)';
$_ADDONLANG['test_signature'] = 'Signed test event accepted (secret matches)';
$_ADDONLANG['test_token'] = 'Staff API token accepted';
$_ADDONLANG['ok'] = 'OK';
$_ADDONLANG['failed'] = 'FAILED';
$_ADDONLANG['spool'] = 'Spooled events';
$_ADDONLANG['spool_pending'] = 'Waiting for retry';
$_ADDONLANG['spool_dead'] = 'Given up (refused or too many attempts)';
$_ADDONLANG['spool_oldest'] = 'Oldest waiting since';
$_ADDONLANG['spool_flush'] = 'Send waiting events now';
$_ADDONLANG['spool_requeue'] = 'Re-queue given-up events';
$_ADDONLANG['spool_purge'] = 'Delete given-up events';
$_ADDONLANG['spool_result'] = 'Sent %d, still failing %d, given up %d.';
$_ADDONLANG['requeued'] = '%d events re-queued.';
$_ADDONLANG['purged'] = '%d events deleted.';
$_ADDONLANG['last_errors'] = 'Last errors';
$_ADDONLANG['no_errors'] = 'No errors recorded.';
$_ADDONLANG['dashboard'] = 'Open the bridge dashboard';
$_ADDONLANG['settings_summary'] = 'Fail mode: %s. Timeout: %d ms. Forwarding %d of %d events.';
