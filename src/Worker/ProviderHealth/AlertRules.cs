using Polly.CircuitBreaker;
using Worker.Providers;

namespace Worker.ProviderHealth;

/// <summary>An alert rule that holds for a provider and model right now.</summary>
public sealed record FiringAlert(string Rule, ProviderModel Pair, string Detail);

/// <summary>The alert rules. No I/O: each is a condition on <see cref="HealthFigures"/>, unit-tested on its own.</summary>
public static class AlertRules
{
    /// <summary>Offline (breaker held open, or the last pings down) for longer than Alerts:OfflineFor.</summary>
    public const string ProviderOffline = "provider_offline";

    /// <summary>Error rate over the window above Alerts:ErrorRate, with at least Alerts:MinCalls calls.</summary>
    public const string ErrorRate = "error_rate";

    /// <summary>p95 latency over the window above Alerts:LatencyFactor times its baseline p95.</summary>
    public const string Latency = "latency";

    /// <summary>Share of first-step requests answered by a later step above Alerts:FallbackRate.</summary>
    public const string FallbackRate = "fallback_rate";

    /// <summary>Alerts:FlappingOpens breaker openings on one instance within Alerts:FlappingWindow.</summary>
    public const string BreakerFlapping = "breaker_flapping";

    /// <summary>A call or ping in the window was rejected with auth, and nothing has succeeded since.</summary>
    public const string AuthFailed = "auth_failed";

    /// <summary>The remaining quota (see <see cref="IQuotaView"/>) below Alerts:QuotaLow.</summary>
    public const string QuotaLow = "quota_low";

    public static IReadOnlyList<FiringAlert> Evaluate(
        HealthFigures f, CircuitState breaker, DateTimeOffset? breakerOpenSince, DateTimeOffset now, ProviderHealthOptions options)
    {
        var a = options.Alerts;
        var firing = new List<FiringAlert>();
        void Fire(string rule, string detail) => firing.Add(new FiringAlert(rule, f.Pair, detail));

        if (OfflineSince(f, breaker, breakerOpenSince, options) is { } since && now - since > a.OfflineFor)
            Fire(ProviderOffline, $"offline since {since:O} ({(now - since).TotalSeconds:0} s, alert after {a.OfflineFor.TotalSeconds:0} s)" +
                (f.LastPing is { } ping ? $"; last ping {ping.Outcome} {ping.ErrorClass}{(ping.HttpStatus is { } s ? $" (HTTP {s})" : "")}" : ""));

        if (f.Calls >= a.MinCalls && f.ErrorRate > a.ErrorRate)
            Fire(ErrorRate, $"error rate {HealthStates.Percent(f.ErrorRate)} over {f.Calls} calls in {Minutes(options)} (threshold {HealthStates.Percent(a.ErrorRate)})");

        if (HealthStates.LatencyFactor(f, a.MinCalls, options.States.MinBaselineCalls) is { } factor && factor > a.LatencyFactor)
            Fire(Latency, $"p95 {f.P95Ms:0} ms over {f.OkCalls} calls in {Minutes(options)} is {factor:0.#}x the baseline {f.BaselineP95Ms:0} ms (threshold {a.LatencyFactor:0.#}x)");

        if (f.FirstStepRequests >= a.MinCalls && f.FallbackRate > a.FallbackRate)
            Fire(FallbackRate, $"{f.FellBack} of {f.FirstStepRequests} requests ({HealthStates.Percent(f.FallbackRate)}) fell back in {Minutes(options)} (threshold {HealthStates.Percent(a.FallbackRate)})");

        if (f.MostOpens >= a.FlappingOpens)
            Fire(BreakerFlapping, $"breaker opened {f.MostOpens} times within {a.FlappingWindow.TotalMinutes:0.#} min on one instance (threshold {a.FlappingOpens})");

        if (f.LastAuthFailure is { } auth && (f.LastSuccess is not { } ok || auth > ok))
            Fire(AuthFailed, $"authentication rejected at {auth:O}; nothing succeeded since: check the API key");

        return firing;
    }

    /// <summary>
    /// <c>quota_low</c>, from this instance's view of the quota (the headers of its own calls and pings, the cluster's
    /// daily count): held while the remaining fraction is below the threshold, so it resolves once a window resets or
    /// the day turns. Null when it does not hold, or nothing is known.
    /// </summary>
    public static FiringAlert? QuotaLowAlert(ProviderModel pair, QuotaStatus quota, DateTimeOffset now, ProviderHealthOptions options)
    {
        var threshold = options.Alerts.QuotaLow;
        if (quota.RemainingFraction is not { } left || left >= threshold)
            return null;
        var parts = new List<string>();
        if (quota.Reading is { } r)
        {
            void Window(string kind, QuotaWindow? w)
            {
                if (w is { } x && QuotaStatus.IsFresh(x, r, now))
                    parts.Add($"{kind} {x.Remaining}{(x.Limit is { } l ? $" of {l}" : "")} left{(x.ResetAt is { } at ? $" until {at:HH:mm:ss}" : "")}");
            }

            Window("requests", r.Requests);
            Window("tokens", r.Tokens);
        }

        if (quota.Daily is { } d)
        {
            if (d.RequestsPerDay > 0)
                parts.Add($"{d.RequestsUsed} of {d.RequestsPerDay} requests used today");
            if (d.TokensPerDay > 0)
                parts.Add($"{d.TokensUsed} of {d.TokensPerDay} tokens used today");
        }

        return new FiringAlert(QuotaLow, pair,
            $"quota remaining {HealthStates.Percent(left)} (threshold {HealthStates.Percent(threshold)}): {string.Join("; ", parts)}");
    }

    /// <summary>Since when the provider has been offline: the breaker's opening, or the start of the run of down pings.</summary>
    public static DateTimeOffset? OfflineSince(HealthFigures f, CircuitState breaker, DateTimeOffset? breakerOpenSince, ProviderHealthOptions options)
    {
        var byBreaker = breaker is CircuitState.Open or CircuitState.Isolated ? breakerOpenSince : null;
        var byPings = HealthStates.PingsSayDown(f, options) ? f.DownSince : null;
        return byBreaker is { } b && byPings is { } p ? (b < p ? b : p) : byBreaker ?? byPings;
    }

    private static string Minutes(ProviderHealthOptions options) => $"{options.States.Window.TotalMinutes:0.#} min";
}
