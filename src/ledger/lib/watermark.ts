/**
 * The derived-data watermarks in `meta` (`tree`: node rows stored up to it; `indexed`: postings stored up
 * to it; docs/ledger.md §3, §4). One reading rule for the log and for `audit verify`.
 */

/**
 * The watermark in `value` for a log of `size` entries: absent means "everything stored" (`size`, files
 * written before the data was deferred); anything but an integer in [0, size] is damage (undefined).
 */
export function readWatermark(value: unknown, size: number): number | undefined {
  if (value === undefined) return size;
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= size
    ? value
    : undefined;
}
