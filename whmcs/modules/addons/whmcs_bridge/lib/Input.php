<?php
/**
 * Reading the admin page's request ($_GET, $_POST): PHP turns a field sent as name[]=... into an
 * array, which a (string) cast would turn into "Array" with a warning inside the WHMCS page.
 */

declare(strict_types=1);

namespace WHMCS\Module\Addon\WhmcsBridge;

final class Input
{
    /** The field as the text it was sent as; '' when it is missing or not a scalar text. Pure. */
    public static function text(array $input, string $key): string
    {
        $value = $input[$key] ?? '';
        return is_string($value) || is_int($value) ? (string) $value : '';
    }
}
