<?php
/**
 * String helpers that do not need the mbstring extension (not every WHMCS host has it).
 */

declare(strict_types=1);

namespace WHMCS\Module\Addon\WhmcsBridge;

final class Text
{
    /** At most $max characters (UTF-8 aware; bytes when the text is not valid UTF-8). */
    public static function cut(string $text, int $max): string
    {
        if (strlen($text) <= $max) {
            return $text;
        }
        if (preg_match('/^.{0,' . $max . '}/su', $text, $m) === 1) {
            return $m[0];
        }
        return substr($text, 0, $max);
    }
}
