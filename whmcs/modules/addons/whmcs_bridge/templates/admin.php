<?php
/**
 * The module's admin page (AdminPage): an alert, the connection test's checks, the overview
 * (version, settings summary, circuit, spool and its buttons, last errors) and, after a
 * verification, the link back to the ticket. Each part is left out when its value is null.
 * Every value goes through e().
 *
 * Each line ends inside a PHP tag (PHP drops the newline after `?>`), so no whitespace appears
 * between the elements but the single spaces after the buttons.
 *
 * @var ?array $alert        level (Bootstrap alert-<level>), text
 * @var ?array $checks       list of [label, result, detail]
 * @var ?array $overview     AdminPage::overviewView()
 * @var ?array $backToTicket href, label
 */

declare(strict_types=1);

namespace WHMCS\Module\Addon\WhmcsBridge;

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

/** One of the page's POST buttons (action URL, the page's CSRF token, label); a space follows. */
$button = static function (array $button): void {
    ?><form method="post" action="<?= e($button['action']) ?>" style="display:inline"><?php
    ?><input type="hidden" name="wb_csrf" value="<?= e($button['csrf']) ?>"><?php
    ?><button type="submit" class="btn btn-default btn-sm"><?= e($button['label']) ?></button></form> <?php
};

if ($alert !== null): ?>
<div class="alert alert-<?= e($alert['level']) ?>"><?= e($alert['text']) ?></div><?php
endif;

if ($checks !== null): ?>
<table class="table table-condensed whmcs-bridge-test"><?php
    foreach ($checks as [$label, $result, $detail]): ?>
<tr><td><?= e($label) ?></td><td><strong><?= e($result) ?></strong></td><td><?= e($detail) ?></td></tr><?php
    endforeach ?>
</table><?php
endif;

if ($overview !== null): ?>
<div class="whmcs-bridge-admin"><p>Module <?= e($overview['version']) ?> &middot; <?= e($overview['userAgent']) ?></p><?php
    if ($overview['notConfigured'] !== null): ?>
<div class="alert alert-warning"><?= e($overview['notConfigured']) ?></div><?php
    else: ?>
<p><?= e($overview['summary']) ?></p><?php
        ?><p><?php $button($overview['testButton']) ?> <?php
        ?><a class="btn btn-link" target="_blank" rel="noopener" href="<?= e($overview['dashboardHref']) ?>"><?= e($overview['dashboardLabel']) ?></a></p><?php
        ?><p class="whmcs-bridge-circuit"><?= e($overview['circuit']) ?></p><?php
        ?><h3><?= e($overview['spoolTitle']) ?></h3><ul class="whmcs-bridge-spool"><?php
        ?><li><?= e($overview['pendingLabel']) ?>: <strong class="pending"><?= e($overview['pending']) ?></strong></li><?php
        ?><li><?= e($overview['deadLabel']) ?>: <strong class="dead"><?= e($overview['dead']) ?></strong></li><?php
        if ($overview['oldest'] !== null): ?>
<li><?= e($overview['oldestLabel']) ?>: <?= e($overview['oldest']) ?> UTC</li><?php
        endif ?>
</ul><p><?php
        foreach ($overview['spoolButtons'] as $spoolButton) {
            $button($spoolButton);
        } ?>
</p><h3><?= e($overview['errorsTitle']) ?></h3><?php
        if ($overview['errors'] === []): ?>
<p><?= e($overview['noErrors']) ?></p><?php
        else: ?>
<table class="table table-condensed whmcs-bridge-errors"><?php
            foreach ($overview['errors'] as $error): ?>
<tr><td><?= e($error['time']) ?></td><td><?= e($error['action']) ?></td><td><?= e($error['message']) ?></td></tr><?php
            endforeach ?>
</table><?php
        endif;
    endif ?>
</div><?php
endif;

if ($backToTicket !== null): ?>
<p><a href="<?= e($backToTicket['href']) ?>"><?= e($backToTicket['label']) ?></a></p><?php
endif;
