/**
 * Text from a data file (a record id, a tag value, a column name, a byte the JSON parser choked on)
 * made safe to print on a terminal. Control characters are written as escapes instead of being
 * sent: an ESC sequence in an id could recolour, retitle or clear the terminal, and a CR or a newline
 * could forge a line of output. Escaped rather than dropped, so the message still shows what is there.
 */
import { HarnessError } from '../harness/errors.js';

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** C0 (tab and newline included) and DEL as `\x1b`, C1 as `\u009b`. Backslashes are kept (Windows paths). */
export function printable(text: string): string {
  return text.replace(CONTROL, (c) => {
    const hex = c.charCodeAt(0).toString(16).padStart(2, '0');
    return c.charCodeAt(0) < 0x80 ? `\\x${hex}` : `\\u00${hex}`;
  });
}

/** The same for a message of several lines written by us: its line breaks stay, every other control is escaped. */
export function printableLines(text: string): string {
  return text.split('\n').map(printable).join('\n');
}

/**
 * A command's last line of defence: the same error with its message and hint made printable. Errors
 * escape data where they quote it; this catches any path that does not. Escaping twice changes
 * nothing, so it is safe on either.
 */
export function printableError(err: HarnessError): HarnessError {
  return new HarnessError(err.code, printableLines(err.message), {
    cause: err,
    hint: err.hint === undefined ? undefined : printableLines(err.hint),
    exitCode: err.exitCode,
  });
}
