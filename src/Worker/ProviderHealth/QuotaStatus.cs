using Worker.Providers;

namespace Worker.ProviderHealth;

/// <summary>A daily quota and what the cluster has used of it today (UTC).</summary>
/// <param name="RequestsUsed">Calls made today: the audit trail at <paramref name="CountedAt"/>, plus this instance's calls since.</param>
/// <param name="RequestsPerDay">The configured limit; 0 means none.</param>
/// <param name="TokensUsed">Input plus output tokens today, counted the same way.</param>
/// <param name="TokensPerDay">The configured limit; 0 means none.</param>
/// <param name="ResetsAt">The next UTC midnight, when the count starts again.</param>
/// <param name="CountedAt">When the audit trail was last counted; null before the first count.</param>
public sealed record DailyQuotaStatus(
    long RequestsUsed, long RequestsPerDay, long TokensUsed, long TokensPerDay, DateTimeOffset ResetsAt, DateTimeOffset? CountedAt)
{
    /// <summary>The lower of the two remaining fractions among the limits set; null when neither is.</summary>
    public double? Fraction => Min(Remaining(RequestsUsed, RequestsPerDay), Remaining(TokensUsed, TokensPerDay));

    private static double? Remaining(long used, long limit) => limit > 0 ? Math.Clamp(1 - (double)used / limit, 0, 1) : null;

    internal static double? Min(double? a, double? b) => a is { } x && b is { } y ? Math.Min(x, y) : a ?? b;
}

/// <summary>What this instance knows of a provider and model's quota at one instant.</summary>
/// <param name="Reading">The latest rate-limit headers, fresh or not (GET /providers shows both).</param>
/// <param name="Daily">The daily quota, when one is configured.</param>
/// <param name="RemainingFraction">See <see cref="IQuotaView.RemainingFraction"/>.</param>
public sealed record QuotaStatus(QuotaReading? Reading, DailyQuotaStatus? Daily, double? RemainingFraction)
{
    /// <summary>
    /// How long a header window without a reset time is believed: OpenAI's request and token limits are per minute, so
    /// after a minute the reading says nothing about now.
    /// </summary>
    public static readonly TimeSpan UndatedReadingLifetime = TimeSpan.FromMinutes(1);

    /// <summary>
    /// The lowest remaining fraction among the header windows that have not reset yet and the daily quota. A window
    /// past its reset is full again as far as anyone knows, so it no longer counts.
    /// </summary>
    public static double? Fraction(QuotaReading? reading, DailyQuotaStatus? daily, DateTimeOffset now) =>
        DailyQuotaStatus.Min(DailyQuotaStatus.Min(Fresh(reading?.Requests, reading, now), Fresh(reading?.Tokens, reading, now)), daily?.Fraction);

    /// <summary>Whether <paramref name="window"/> of <paramref name="reading"/> still describes now: before its reset.</summary>
    public static bool IsFresh(QuotaWindow window, QuotaReading reading, DateTimeOffset now) =>
        now < (window.ResetAt ?? reading.At + UndatedReadingLifetime);

    private static double? Fresh(QuotaWindow? window, QuotaReading? reading, DateTimeOffset now) =>
        window is { } w && IsFresh(w, reading!, now) ? w.Fraction : null;
}
