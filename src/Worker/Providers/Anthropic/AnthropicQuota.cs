using System.Globalization;

namespace Worker.Providers.Anthropic;

/// <summary>
/// Reads Anthropic's rate-limit headers (<c>anthropic-ratelimit-requests-limit</c>, <c>-remaining</c>, <c>-reset</c>, and
/// the same for <c>tokens</c>, the most restrictive token limit in effect). Unlike OpenAI's relative durations, the resets
/// are RFC 3339 instants. Advice, not the answer: an unreadable value is dropped rather than failing the call.
/// </summary>
internal static class AnthropicQuota
{
    private const string Prefix = "anthropic-ratelimit-";

    /// <summary>The reading, or null when no window's remaining count could be read.</summary>
    /// <param name="header">Looks up one response header by name; null when absent.</param>
    public static QuotaReading? Read(Func<string, string?> header, DateTimeOffset now)
    {
        var requests = Window(header, "requests");
        var tokens = Window(header, "tokens");
        return requests is null && tokens is null ? null : new QuotaReading(now, requests, tokens);
    }

    private static QuotaWindow? Window(Func<string, string?> header, string kind)
    {
        if (!Count(header($"{Prefix}{kind}-remaining"), out var remaining))
            return null;
        long? limit = Count(header($"{Prefix}{kind}-limit"), out var l) ? l : null;
        DateTimeOffset? resetAt = DateTimeOffset.TryParse(header($"{Prefix}{kind}-reset")?.Trim(), CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal, out var reset) ? reset : null;
        return new QuotaWindow(remaining, limit, resetAt);
    }

    private static bool Count(string? text, out long value) =>
        long.TryParse(text?.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out value);
}
