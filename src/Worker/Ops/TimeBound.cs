using System.Globalization;
using Worker.Metrics;

namespace Worker.Ops;

/// <summary>A time bound of an ops filter: an ISO 8601 instant (UTC when it has no offset) or a window back from now, such as <c>1h</c>.</summary>
public static class TimeBound
{
    public const string Help = $"an ISO 8601 time (e.g. 2026-11-21T09:00:00Z) or a window: {MetricsWindow.Help}";

    public static bool TryParse(string text, DateTimeOffset now, out DateTimeOffset instant)
    {
        if (MetricsWindow.TryParse(text, out var window))
        {
            instant = now - window;
            return true;
        }

        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
        {
            instant = parsed.ToUniversalTime();
            return true;
        }

        instant = default;
        return false;
    }
}
