<?php
/**
 * The ticket panel (Panel::render, Panel::notice, Panel::form): a short notice, or the bridge's
 * fragment with the staff verification form under it, in WHMCS's admin (Bootstrap 3) styling.
 * One <details> per offered method, each holding a small form with only that method's fields.
 * Opening a method shows its inputs; no script, so it works without JS and under any CSP (the
 * shared `name` makes them an accordion where browsers support it).
 *
 * Every value goes through e() except the two *Html ones, which are markup by contract: the
 * bridge's own fragment (fetched with the staff token; the bridge escapes what it puts in it)
 * and the CSRF field WHMCS's generate_token() prints.
 *
 * Each line ends inside a PHP tag (PHP drops the newline after `?>`), so no whitespace appears
 * between the elements.
 *
 * @var ?string $notice         the notice line, or null
 * @var ?string $fragmentHtml   the bridge's fragment, or null
 * @var ?array $form            Panel::formView(), or null: title, hint, ticketId, action, csrf,
 *                              whmcsTokenHtml, methods [name, label, submit, fields [id, name,
 *                              label, attributes (name => value, true = bare attribute)]]
 */

declare(strict_types=1);

namespace WHMCS\Module\Addon\WhmcsBridge;

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

if ($notice !== null): ?>
<div class="whmcs-bridge-panel whmcs-bridge-unavailable"><small><?= e($notice) ?></small></div><?php
endif;

if ($fragmentHtml !== null): ?>
<div class="whmcs-bridge-panel"><?= $fragmentHtml ?></div><?php
endif;

if ($form !== null): ?>
<div class="panel panel-default whmcs-bridge-verify"><?php
    ?><div class="panel-heading"><h3 class="panel-title"><?= e($form['title']) ?></h3></div><?php
    ?><div class="panel-body"><p class="help-block"><?= e($form['hint']) ?></p><?php
    foreach ($form['methods'] as $method): ?>
<details class="whmcs-bridge-method" name="wb-verify-<?= e($form['ticketId']) ?>"><?php
        ?><summary><strong><?= e($method['label']) ?></strong></summary><?php
        ?><form method="post" action="<?= e($form['action']) ?>"><?php
        ?><input type="hidden" name="ticketid" value="<?= e($form['ticketId']) ?>"><?php
        ?><input type="hidden" name="wb_csrf" value="<?= e($form['csrf']) ?>"><?= $form['whmcsTokenHtml'] ?><?php
        ?><input type="hidden" name="method" value="<?= e($method['name']) ?>"><?php
        foreach ($method['fields'] as $field): ?>
<div class="form-group"><label for="<?= e($field['id']) ?>"><?= e($field['label']) ?></label><?php
            ?><input class="form-control input-sm" id="<?= e($field['id']) ?>" name="<?= e($field['name']) ?>"<?php
            foreach ($field['attributes'] as $attribute => $value):
                ?> <?= e($attribute) ?><?php if ($value !== true): ?>="<?= e($value) ?>"<?php endif;
            endforeach ?> autocomplete="off"></div><?php
        endforeach ?>
<button type="submit" class="btn btn-primary btn-sm"><?= e($method['submit']) ?></button></form></details><?php
    endforeach ?>
</div></div><?php
endif;
