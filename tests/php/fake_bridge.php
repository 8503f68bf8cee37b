<?php
/**
 * Router for `php -S`: a scripted stand-in bridge for the unit suite (the integration suites use
 * the real `whmcs-bridge serve`). The behaviour is chosen by the URL prefix the test puts in
 * the module's bridge URL:
 *   /status/<code>/...   answer <code> with a JSON body
 *   /gate/allow/...      {"allow": true}
 *   /gate/refuse/...     {"allow": false, "reason": "verification_required", "message": ..., "ticket_id": 7}
 *   /gate/garbage/...    200 with a body that is not a gate answer
 *   /panel/...           an HTML fragment for GET .../api/tickets/<id>/panel (ticket 5 offers
 *                        three proof methods, 6 none), JSON for POST .../verification
 *   /switch/<name>/...   503 while the file <tmp>/wb-switch-<name> says "down" (or is missing);
 *                        when it says "up": {"allow": true} for gates, a panel fragment, else 202
 * Every request is appended (method, path, headers, body) to $WB_FAKE_LOG as one JSON line.
 */

$path = parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);
$body = file_get_contents('php://input');
$log = getenv('WB_FAKE_LOG');
if ($log) {
    $headers = function_exists('getallheaders') ? getallheaders() : [];
    file_put_contents($log, json_encode(['method' => $_SERVER['REQUEST_METHOD'], 'uri' => $_SERVER['REQUEST_URI'],
        'headers' => array_change_key_case($headers, CASE_LOWER), 'body' => $body]) . "\n", FILE_APPEND | LOCK_EX);
}
header('Content-Type: application/json');
if (preg_match('#^/switch/([A-Za-z0-9_-]+)/#', $path, $m)) {
    $mode = @file_get_contents(sys_get_temp_dir() . '/wb-switch-' . $m[1]);
    if ($mode !== 'up') {
        http_response_code(503);
        echo json_encode(['error' => 'scripted', 'message' => 'switched down']);
    } elseif (str_contains($path, '/gates/')) {
        echo json_encode(['allow' => true]);
    } elseif (str_contains($path, '/panel')) {
        header('Content-Type: text/html; charset=utf-8');
        echo '<section id="fake-panel">SLA on track</section>';
    } else {
        http_response_code(202);
        echo json_encode(['status' => 'accepted']);
    }
    return true;
}
if (preg_match('#^/status/(\d{3})/#', $path, $m)) {
    http_response_code((int) $m[1]);
    echo json_encode(['error' => 'scripted', 'message' => 'scripted ' . $m[1]]);
    return true;
}
if (str_starts_with($path, '/gate/allow/')) {
    echo json_encode(['allow' => true]);
    return true;
}
if (str_starts_with($path, '/gate/refuse/')) {
    echo json_encode(['allow' => false, 'reason' => 'verification_required',
        'message' => 'Please verify ownership first (ticket #7).', 'ticket_id' => 7]);
    return true;
}
if (str_starts_with($path, '/gate/garbage/')) {
    echo 'not a gate answer';
    return true;
}
if (str_starts_with($path, '/panel/')) {
    if ($_SERVER['REQUEST_METHOD'] === 'POST') {
        $method = json_decode($body, true)['method'] ?? '';
        echo json_encode($method === 'card_last4'
            ? ['outcome' => 'failed', 'reason' => 'no_match', 'verification' => ['required' => true, 'state' => 'required', 'method' => null, 'verified_at' => null]]
            : ['outcome' => 'verified', 'reason' => null, 'verification' => ['required' => true, 'state' => 'verified', 'method' => $method, 'verified_at' => '2026-01-01T00:00:00+00:00']]);
        return true;
    }
    if (preg_match('#/api/tickets/404/panel#', $path)) {
        http_response_code(404);
        echo json_encode(['error' => 'not_found']);
        return true;
    }
    // ticket 5 awaits proof (three methods offered, one unknown name the module must drop);
    // ticket 6 is verified (nothing offered); others send no attribute (an older bridge)
    $offered = ['5' => 'client_login card_last4 in_person made_up', '6' => ''];
    $id = preg_match('#/api/tickets/(\d+)/panel#', $path, $t) ? $t[1] : '';
    header('Content-Type: text/html; charset=utf-8');
    echo '<section id="fake-panel"' . (isset($offered[$id]) ? ' data-wb-verify-methods="' . $offered[$id] . '"' : '')
        . '>SLA on track</section>';
    return true;
}
http_response_code(404);
echo json_encode(['error' => 'not_found']);
return true;
