namespace Worker.Benchmarks.Reporting;

/// <summary>The statistics the scenarios report. Pure functions, unit-tested in tests/Worker.Tests/Benchmarks.</summary>
public static class Stats
{
    /// <summary>
    /// The <paramref name="percentile"/> (0..100) of <paramref name="values"/>, interpolating linearly between the two
    /// closest ranks (Excel's PERCENTILE.INC); NaN when there are no values.
    /// </summary>
    public static double Percentile(IEnumerable<double> values, double percentile)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
            return double.NaN;
        var rank = Math.Clamp(percentile, 0, 100) / 100 * (sorted.Length - 1);
        var lower = (int)Math.Floor(rank);
        var upper = (int)Math.Ceiling(rank);
        return sorted[lower] + (sorted[upper] - sorted[lower]) * (rank - lower);
    }

    /// <summary>
    /// Completions per second in the steady part of a drain: between the completion at the <paramref name="trim"/>
    /// quantile and the one at 1 - <paramref name="trim"/>. The ramp-up (process start, JIT, connecting) and the tail are
    /// left out the same way for everything compared; <paramref name="trim"/> 0 counts from the first to the last.
    /// </summary>
    public static double Throughput(IEnumerable<double> completedAtSeconds, double trim = 0)
    {
        var sorted = completedAtSeconds.Order().ToArray();
        if (sorted.Length < 2)
            return double.NaN;
        var first = (int)Math.Floor(trim * (sorted.Length - 1));
        var last = (int)Math.Ceiling((1 - trim) * (sorted.Length - 1));
        return last <= first || sorted[last] <= sorted[first] ? double.NaN : (last - first) / (sorted[last] - sorted[first]);
    }

    /// <summary>
    /// When traffic came back to the primary: the publish time of the first request served by it from which on every run
    /// of <paramref name="window"/> consecutive requests has at least <paramref name="share"/> of them served by it.
    /// Null when that never happened (or too few requests followed to tell).
    /// </summary>
    /// <param name="requests">Requests published after the primary's return, in publish order.</param>
    public static double? RecoveredAt(IReadOnlyList<(double PublishedAt, bool ByPrimary)> requests, double share = 0.9, int window = 20)
    {
        if (requests.Count < window)
            return null;
        var served = new int[requests.Count + 1];
        for (var i = 0; i < requests.Count; i++)
            served[i + 1] = served[i] + (requests[i].ByPrimary ? 1 : 0);

        // Walk back from the end while every window is good enough; the earliest good start is where recovery held.
        int? earliest = null;
        for (var start = requests.Count - window; start >= 0; start--)
        {
            if (served[start + window] - served[start] < share * window - 1e-9)
                break;
            earliest = start;
        }

        if (earliest is not { } from)
            return null;
        for (var i = from; i < requests.Count; i++)
        {
            if (requests[i].ByPrimary)
                return requests[i].PublishedAt;
        }

        return null;
    }
}
