using System.Globalization;
using Worker.Budgets;

namespace Worker.OpsConsole;

/// <summary>A rule-based recommendation: a plain sentence naming its subject and the figure behind it.</summary>
/// <param name="Severity">critical or warning.</param>
/// <param name="Subject">What it is about: a provider/model, a tenant, or <c>fallback_rate</c>.</param>
public sealed record Recommendation(string Severity, string Subject, string Text);

/// <summary>How a provider and model stand now, for the recommendation rules.</summary>
/// <param name="State">healthy, degraded, critical or offline (<see cref="ProviderHealth.HealthStates"/>).</param>
/// <param name="BadSince">Since when it has been offline (breaker open, pings down) or critical (its open error-rate alert); null when neither.</param>
public sealed record ProviderStanding(string Provider, string Model, string State, string Reason, DateTimeOffset? BadSince);

/// <summary>A provider and model's p95 latency of successful calls over the last hour and over the 7 days before it.</summary>
public sealed record LatencyFigures(string Provider, string Model, long HourCalls, double? HourP95Ms, long WeekCalls, double? WeekP95Ms);

/// <summary>The recommendation rules. No I/O: each is a condition on figures, unit-tested on its own.</summary>
public static class RecommendationRules
{
    public const string Critical = "critical";
    public const string Warning = "warning";

    /// <summary>How long a provider must have been critical or offline before it is worth a sentence.</summary>
    public static readonly TimeSpan BadFor = TimeSpan.FromMinutes(5);

    /// <summary>Succeeded requests the fallback rate must rest on.</summary>
    public const long MinRequests = 20;

    /// <summary>The last hour's p95 over the 7-day p95 that counts as drift.</summary>
    public const double DriftFactor = 1.5;

    /// <summary>Successful calls the last hour (and, times <see cref="WeekSamplesFactor"/>, the 7 days) must hold.</summary>
    public const long MinHourCalls = 20;

    public const long WeekSamplesFactor = 5;

    /// <summary>Share of a tenant's daily budget spent that is worth a sentence.</summary>
    public const decimal BudgetShare = 0.8m;

    public static IReadOnlyList<Recommendation> Evaluate(
        IReadOnlyList<ProviderStanding> providers, Kpi fallbackRate, KpiFigures figures, string window,
        IReadOnlyList<LatencyFigures> latency, IReadOnlyList<TenantBudgetStatus> budgets, DateTimeOffset now)
    {
        var all = new List<Recommendation>();
        all.AddRange(providers.Select(p => ProviderDown(p, now)).OfType<Recommendation>());
        if (FallbackAboveTarget(fallbackRate, figures, window) is { } fallback)
            all.Add(fallback);
        all.AddRange(latency.Select(LatencyDrift).OfType<Recommendation>());
        all.AddRange(budgets.Select(BudgetNearlySpent).OfType<Recommendation>());
        return [.. all.OrderBy(r => r.Severity == Critical ? 0 : 1)];
    }

    /// <summary>Offline or critical for at least <see cref="BadFor"/>.</summary>
    public static Recommendation? ProviderDown(ProviderStanding p, DateTimeOffset now)
    {
        if (p.State is not ("offline" or "critical") || p.BadSince is not { } since || now - since < BadFor)
            return null;
        var minutes = (int)(now - since).TotalMinutes;
        return new(Critical, $"{p.Provider}/{p.Model}",
            $"{p.Provider}/{p.Model} has been {p.State} for {minutes} min (since {since.UtcDateTime.ToString("HH:mm", CultureInfo.InvariantCulture)} UTC): {p.Reason}. " +
            "Its requests go to later steps; check the provider's status page and its API key, or take it out of the chain.");
    }

    /// <summary>The fallback rate above its target, over at least <see cref="MinRequests"/> succeeded requests.</summary>
    public static Recommendation? FallbackAboveTarget(Kpi fallbackRate, KpiFigures figures, string window)
    {
        if (fallbackRate.Value is not { } rate || fallbackRate.Target is not { } target || rate <= target || figures.Succeeded < MinRequests)
            return null;
        return new(fallbackRate.State == Kpis.Red ? Critical : Warning, Kpis.FallbackRate,
            $"The fallback rate over the last {window} is {Percent(rate)} ({figures.FellBack} of {figures.Succeeded} answered requests), above the {Percent(target)} target: " +
            "the first step of a chain is failing or refusing; see which provider in the Providers table.");
    }

    /// <summary>The last hour's p95 at least <see cref="DriftFactor"/> times the 7 days' before it, on enough calls.</summary>
    public static Recommendation? LatencyDrift(LatencyFigures l)
    {
        if (l.HourCalls < MinHourCalls || l.WeekCalls < MinHourCalls * WeekSamplesFactor
            || l.HourP95Ms is not { } hour || l.WeekP95Ms is not { } week || week <= 0 || hour < DriftFactor * week)
            return null;
        return new(Warning, $"{l.Provider}/{l.Model}",
            $"{l.Provider}/{l.Model} p95 latency over the last hour is {hour:0} ms, {(hour / week).ToString("0.0", CultureInfo.InvariantCulture)}x its 7-day p95 of {week:0} ms " +
            $"({l.HourCalls} calls): the provider is slowing down; deadlines and timeouts may start to bite.");
    }

    /// <summary>A tenant with at least <see cref="BudgetShare"/> of today's budget spent.</summary>
    public static Recommendation? BudgetNearlySpent(TenantBudgetStatus b)
    {
        if (b.DailyUsd <= 0 || b.SpentUsd < BudgetShare * b.DailyUsd)
            return null;
        var share = (double)(b.SpentUsd / b.DailyUsd);
        var spent = b.SpentUsd >= b.DailyUsd;
        return new(spent ? Critical : Warning, $"tenant {b.Tenant}",
            $"Tenant {b.Tenant} has spent {Usd(b.SpentUsd)} of its {Usd(b.DailyUsd)} USD budget today ({Percent(share)}): " +
            (spent ? "its calls are refused until the UTC day turns; raise the budget if that is wrong." : "calls that would pass the budget will be refused."));
    }

    private static string Percent(double share) => (share * 100).ToString("0.##", CultureInfo.InvariantCulture) + " %";

    private static string Usd(decimal usd) => usd.ToString("0.00##", CultureInfo.InvariantCulture);
}
