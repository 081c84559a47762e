using System.Globalization;

namespace Worker.Providers;

/// <summary>Reads the wait a provider asks for before the next call.</summary>
internal static class RetryAfter
{
    // Values beyond this are treated as "a long time" rather than trusted: a day is already past any deadline,
    // and an absurd header must not overflow TimeSpan.
    private static readonly TimeSpan Ceiling = TimeSpan.FromDays(1);

    /// <summary>
    /// <c>retry-after-ms</c> (OpenAI, more precise) wins over <c>Retry-After</c>, which is either seconds or an
    /// HTTP date (RFC 9110 10.2.3). Returns null when neither is present or readable.
    /// </summary>
    public static TimeSpan? FromHeaders(string? retryAfterMs, string? retryAfter, DateTimeOffset now)
    {
        if (TryNumber(retryAfterMs, out var ms))
        {
            return Bound(TimeSpan.FromMilliseconds(Math.Min(ms, Ceiling.TotalMilliseconds)));
        }

        if (string.IsNullOrWhiteSpace(retryAfter))
        {
            return null;
        }

        if (TryNumber(retryAfter, out var seconds))
        {
            return Bound(TimeSpan.FromSeconds(Math.Min(seconds, Ceiling.TotalSeconds)));
        }

        return DateTimeOffset.TryParseExact(retryAfter.Trim(), "r", CultureInfo.InvariantCulture,
                   DateTimeStyles.AssumeUniversal, out var date)
               || DateTimeOffset.TryParse(retryAfter.Trim(), CultureInfo.InvariantCulture,
                   DateTimeStyles.AssumeUniversal, out date)
            ? Bound(date - now)
            : null;
    }

    /// <summary>A google.protobuf.Duration in its JSON form, e.g. "22s", "1.5s", "0.250s" (Gemini RetryInfo.retryDelay).</summary>
    public static TimeSpan? FromGoogleDuration(string? value)
    {
        if (string.IsNullOrWhiteSpace(value) || !value.EndsWith('s'))
        {
            return null;
        }

        return TryNumber(value[..^1], out var seconds)
            ? Bound(TimeSpan.FromSeconds(Math.Min(seconds, Ceiling.TotalSeconds)))
            : null;
    }

    private static bool TryNumber(string? text, out double value) =>
        double.TryParse(text?.Trim(), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out value)
        && double.IsFinite(value);

    private static TimeSpan Bound(TimeSpan wait) =>
        wait < TimeSpan.Zero ? TimeSpan.Zero : wait > Ceiling ? Ceiling : wait;
}
