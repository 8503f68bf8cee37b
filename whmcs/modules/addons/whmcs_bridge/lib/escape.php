<?php
/**
 * The templates' escaping helper, e(). Template::render loads this file; the templates declare
 * the module's namespace, so e() there is this function (not Laravel's global e(), which WHMCS
 * may also load).
 */

declare(strict_types=1);

namespace WHMCS\Module\Addon\WhmcsBridge;

/** A value as HTML text, safe inside an element or a quoted attribute (both quote kinds escaped). */
function e(string|int $value): string
{
    return htmlspecialchars((string) $value, ENT_QUOTES);
}
