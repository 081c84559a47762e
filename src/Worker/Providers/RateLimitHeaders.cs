using System.Globalization;

namespace Worker.Providers;

/// <summary>
/// Reads OpenAI's rate-limit headers (<c>x-ratelimit-remaining-requests</c>, <c>-limit-requests</c>,
/// <c>-reset-requests</c> and the same for tokens), as OpenAI, Groq, OpenRouter and vLLM gateways send them. They are
/// advice, not part of the answer: an unreadable value is dropped rather than failing the call.
/// </summary>
internal static class RateLimitHeaders
{
    private const string Prefix = "x-ratelimit-";

    // A reset further away than this is not believed: OpenAI's windows are a minute to a day.
    private static readonly TimeSpan Ceiling = TimeSpan.FromDays(1);

    /// <summary>The reading, or null when no window's remaining count could be read.</summary>
    /// <param name="header">Looks up one response header by name; null when absent.</param>
    public static QuotaReading? Read(Func<string, string?> header, DateTimeOffset now)
    {
        var requests = Window(header, "requests", now);
        var tokens = Window(header, "tokens", now);
        return requests is null && tokens is null ? null : new QuotaReading(now, requests, tokens);
    }

    /// <summary>
    /// A Go duration as OpenAI writes it ("6m0s", "1s", "20ms", "1h2m3.5s", "59.56s"), or a bare number of seconds as
    /// some compatible servers write it. Null when unreadable, negative or beyond a day.
    /// </summary>
    public static TimeSpan? ParseDuration(string? text)
    {
        var s = text?.Trim();
        if (string.IsNullOrEmpty(s))
            return null;
        if (Number(s, out var bare))
            return Bounded(bare * TimeSpan.TicksPerSecond);

        double ticks = 0;
        var i = 0;
        while (i < s.Length)
        {
            var start = i;
            while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.'))
                i++;
            if (i == start || !Number(s[start..i], out var value))
                return null;
            var unitStart = i;
            while (i < s.Length && !char.IsAsciiDigit(s[i]) && s[i] != '.')
                i++;
            double? perUnit = s[unitStart..i] switch
            {
                "h" => TimeSpan.TicksPerHour,
                "m" => TimeSpan.TicksPerMinute,
                "s" => TimeSpan.TicksPerSecond,
                "ms" => TimeSpan.TicksPerMillisecond,
                "us" or "µs" => TimeSpan.TicksPerMicrosecond,
                "ns" => TimeSpan.TicksPerMicrosecond / 1000.0,
                _ => null,
            };
            if (perUnit is not { } unit)
                return null;
            ticks += value * unit;
        }

        return Bounded(ticks);
    }

    private static QuotaWindow? Window(Func<string, string?> header, string kind, DateTimeOffset now)
    {
        if (!Count(header($"{Prefix}remaining-{kind}"), out var remaining))
            return null;
        long? limit = Count(header($"{Prefix}limit-{kind}"), out var l) ? l : null;
        DateTimeOffset? resetAt = ParseDuration(header($"{Prefix}reset-{kind}")) is { } reset ? now + reset : null;
        return new QuotaWindow(remaining, limit, resetAt);
    }

    private static bool Count(string? text, out long value) =>
        long.TryParse(text?.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out value);

    private static bool Number(string text, out double value) =>
        double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);

    private static TimeSpan? Bounded(double ticks) =>
        ticks >= 0 && ticks <= Ceiling.Ticks ? TimeSpan.FromTicks((long)ticks) : null;
}
