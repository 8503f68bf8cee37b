<?php
/**
 * Figures, not a test: how long a WHMCS page waits for the module. Fires N TicketOpen events
 * and N gate calls through the real hooks against a running bridge and prints percentiles.
 *
 *   WB_BRIDGE_URL=http://127.0.0.1:8080 WB_SECRET=whsec_... [WB_N=200] php tests/php/bench.php
 */

require __DIR__ . '/standin/whmcs.php';
require __DIR__ . '/Tester.php';
require __DIR__ . '/helpers.php';

$n = max(1, min(2000, (int) (getenv('WB_N') ?: 200)));
$url = getenv('WB_BRIDGE_URL') ?: exit("set WB_BRIDGE_URL and WB_SECRET\n");
StandIn::boot(tempnam(sys_get_temp_dir(), 'wb-bench-'));
StandIn::loadModule();
whmcs_bridge_activate();
configure($url, ['log_level' => 'errors']);

function percentiles(array $ms): string
{
    sort($ms);
    $at = static fn (float $p) => $ms[(int) min(count($ms) - 1, floor($p * count($ms)))];
    return sprintf('p50 %.1f ms  p95 %.1f ms  max %.1f ms', $at(0.50), $at(0.95), end($ms));
}

$base = random_int(100000, 900000);
$events = [];
for ($i = 0; $i < $n; $i++) {
    $t = hrtime(true);
    StandIn::runHook('TicketOpen', ['ticketid' => $base + $i, 'subject' => 'bench', 'message' => str_repeat('x', 500), 'priority' => 'Low', 'deptid' => 1]);
    $events[] = (hrtime(true) - $t) / 1e6;
}
$spooled = count(spool_rows());
StandIn::loginAdmin(1, 'alice');
$gates = [];
for ($i = 0; $i < $n; $i++) {
    $t = hrtime(true);
    StandIn::runHook('PreModuleChangePackage', gate_vars('PreModuleChangePackage', 1 + $i % 50));
    $gates[] = (hrtime(true) - $t) / 1e6;
}
printf("TicketOpen forwarded x%d: %s (spooled: %d)\n", $n, percentiles($events), $spooled);
printf("PreModuleChangePackage gate x%d: %s\n", $n, percentiles($gates));
