namespace Worker.Providers.Gemini;

/// <summary>When Gemini's per-day quotas reset: midnight Pacific time (https://ai.google.dev/gemini-api/docs/rate-limits).</summary>
internal static class GeminiQuota
{
    private static readonly TimeZoneInfo Pacific = FindPacific();

    /// <summary>How long from <paramref name="now"/> until the next midnight in Pacific time.</summary>
    public static TimeSpan UntilDailyReset(DateTimeOffset now)
    {
        var local = TimeZoneInfo.ConvertTime(now, Pacific);
        var midnight = local.Date.AddDays(1);
        var reset = new DateTimeOffset(midnight, Pacific.GetUtcOffset(midnight));
        return reset - now;
    }

    /// <summary>The IANA zone, else the Windows one; a machine without time-zone data gets UTC-8, off by an hour in summer.</summary>
    private static TimeZoneInfo FindPacific()
    {
        foreach (var id in new[] { "America/Los_Angeles", "Pacific Standard Time" })
        {
            if (TimeZoneInfo.TryFindSystemTimeZoneById(id, out var zone))
                return zone;
        }

        return TimeZoneInfo.CreateCustomTimeZone("UTC-8", TimeSpan.FromHours(-8), "UTC-8", "UTC-8");
    }
}
