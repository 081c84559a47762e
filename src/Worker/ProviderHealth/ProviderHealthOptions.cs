using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Worker.Providers;

namespace Worker.ProviderHealth;

/// <summary>The <c>ProviderHealth</c> section: circuit breakers, pings, health states and alerts.</summary>
public sealed class ProviderHealthOptions
{
    public const string Section = "ProviderHealth";

    /// <summary>
    /// A breaker opens when this share of the calls in <see cref="SamplingDuration"/> failed in a way that says the
    /// provider is down (server, network, timeout). An outage fails nearly every call; 30-50 % random failures do not reach
    /// it (docs/chain.md has the odds), so a noisy provider keeps its traffic and requests pay their retries on it.
    /// </summary>
    [Range(0.01, 1.0)]
    public double FailureRatio { get; set; } = 0.8;

    /// <summary>
    /// ...provided the window holds at least this many calls; it also opens when the last this-many calls failed in a
    /// row (an outage starting under traffic, while older successes still fill the window). Under low traffic the
    /// window never fills: failed pings catch the outage then.
    /// </summary>
    [Range(2, 10_000)]
    public int MinimumThroughput { get; set; } = 20;

    /// <summary>The window the failure ratio is measured over.</summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "01:00:00")]
    public TimeSpan SamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an opened breaker refuses calls before trial calls may run (half-open). A successful ping closes it sooner.</summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "01:00:00")]
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Trial calls a half-open breaker admits at once: the first one the provider answers closes it; it re-opens for
    /// <see cref="BreakDuration"/> only when all of them failed, so one unlucky call does not shut the provider out again.
    /// </summary>
    [Range(1, 100)]
    public int HalfOpenTrials { get; set; } = 3;

    /// <summary>
    /// How long a rejected call (401/403) holds the breaker open before one live request may try again (half-open).
    /// A successful ping closes it sooner. Bounded: a gateway that rejects a single prompt must not shut a provider out.
    /// </summary>
    public TimeSpan AuthBreakDuration { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Consecutive failed pings that hold a breaker open until a ping succeeds.</summary>
    [Range(1, 100)]
    public int PingFailuresToIsolate { get; set; } = 2;

    /// <summary>How often each provider and model of the configured chains is pinged, once per cluster: 1 s to 1 h, or 0 (off).</summary>
    public TimeSpan PingInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Longest wait for a ping's answer: at most <see cref="PingInterval"/> and 5 min.</summary>
    public TimeSpan PingTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Output budget of a ping ("ping" in, at most this many tokens out): the cost of one ping.</summary>
    [Range(1, 1024)]
    public int PingMaxOutputTokens { get; set; } = 16;

    /// <summary>How often each instance reads the cluster's new pings into its own breakers: 100 ms to 5 min, or 0 (off).</summary>
    public TimeSpan SyncInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the alert rules are evaluated, once per cluster: 1 s to 1 h, or 0 (off).</summary>
    public TimeSpan AlertInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>This instance's name in ping, slot and breaker rows. Default: host name and process id.</summary>
    public string InstanceName { get; set; } = $"{Environment.MachineName}/{Environment.ProcessId}";

    /// <summary>
    /// How often this instance renews its row in <c>worker_instances</c> and counts the live instances, among which each
    /// provider's pacing budget is divided: 1 s to 5 min, or 0 (off: no row, each instance allows the whole budget).
    /// </summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// An instance not seen for this long is counted out (a killed one's share returns to the others after it): longer
    /// than <see cref="HeartbeatInterval"/>, so one late renewal does not count a live instance out; at most 1 h.
    /// </summary>
    public TimeSpan InstanceTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the daily quotas (<c>Quotas</c> section) are counted from the audit trail: 1 s to 1 h.</summary>
    public TimeSpan QuotaRefreshInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Days pings, breaker events and resolved alerts are kept. 0 keeps them forever.</summary>
    [Range(0, 36_500)]
    public int HistoryDays { get; set; } = 30;

    /// <summary>How live traffic and pings turn into a health state.</summary>
    public HealthStateOptions States { get; set; } = new();

    /// <summary>When an alert is raised.</summary>
    public AlertOptions Alerts { get; set; } = new();
}

/// <summary>The <c>ProviderHealth:States</c> section.</summary>
public sealed class HealthStateOptions
{
    /// <summary>The recent window error rates and latencies are measured over (states and alerts alike): 10 s to 1 day.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Calls in <see cref="Window"/> below which error rate and latency say nothing.</summary>
    public int MinCalls { get; set; } = 4;

    /// <summary>Error rate (0..1) at or above which a provider is critical.</summary>
    public double CriticalErrorRate { get; set; } = 0.5;

    /// <summary>Error rate (0..1) at or above which a provider is degraded.</summary>
    public double DegradedErrorRate { get; set; } = 0.1;

    /// <summary>Degraded when the window's p95 latency exceeds this multiple of the baseline p95.</summary>
    public double DegradedLatencyFactor { get; set; } = 3.0;

    /// <summary>The baseline's look-back (the recent window excluded): longer than <see cref="Window"/>, at most 30 days.</summary>
    public TimeSpan BaselineWindow { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Successful calls the baseline needs before latency is compared with it.</summary>
    public int MinBaselineCalls { get; set; } = 20;
}

/// <summary>The <c>ProviderHealth:Alerts</c> section.</summary>
public sealed class AlertOptions
{
    /// <summary><c>provider_offline</c>: offline for longer than this (at most 1 day).</summary>
    public TimeSpan OfflineFor { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Calls (or first-step requests, for the fallback rate) in the window below which rates do not alert.</summary>
    public int MinCalls { get; set; } = 10;

    /// <summary><c>error_rate</c>: error rate above this (0..1).</summary>
    public double ErrorRate { get; set; } = 0.1;

    /// <summary><c>latency</c>: p95 above this multiple of the baseline p95.</summary>
    public double LatencyFactor { get; set; } = 5.0;

    /// <summary><c>fallback_rate</c>: share of first-step requests answered by a later step above this (0..1).</summary>
    public double FallbackRate { get; set; } = 0.1;

    /// <summary><c>breaker_flapping</c>: this many breaker opens on one instance within <see cref="FlappingWindow"/>.</summary>
    public int FlappingOpens { get; set; } = 3;

    /// <summary>The look-back of <see cref="FlappingOpens"/>: 1 s to 1 day.</summary>
    public TimeSpan FlappingWindow { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// <c>quota_low</c>: the remaining quota (the lowest of the rate-limit headers' windows and the daily quota, see
    /// <see cref="IQuotaView"/>) below this fraction (0..1); resolved once it is back at or above it.
    /// </summary>
    public double QuotaLow { get; set; } = 0.2;
}

/// <summary>Checks what data annotations cannot: "0 means off" intervals, upper bounds, nested sections, and how knobs relate.</summary>
public sealed class ProviderHealthOptionsValidator : IValidateOptions<ProviderHealthOptions>
{
    public ValidateOptionsResult Validate(string? name, ProviderHealthOptions o)
    {
        var problems = new OptionProblems();
        void Check(bool ok, string key, string problem) => problems.Check(ok, $"{ProviderHealthOptions.Section}:{key}", problem);
        void Duration(string key, TimeSpan value, TimeSpan min, TimeSpan max, bool zeroIsOff = false) =>
            problems.Duration($"{ProviderHealthOptions.Section}:{key}", value, min, max, zeroIsOff);

        var s = o.States;
        var a = o.Alerts;
        Duration("AuthBreakDuration", o.AuthBreakDuration, TimeSpan.FromSeconds(1), TimeSpan.FromDays(1));
        Duration("PingInterval", o.PingInterval, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1), zeroIsOff: true);
        Duration("PingTimeout", o.PingTimeout, TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(5));
        Check(o.PingInterval == TimeSpan.Zero || o.PingTimeout <= o.PingInterval, "PingTimeout",
            $"must not be longer than PingInterval ({OptionProblems.Text(o.PingInterval)}), was {OptionProblems.Text(o.PingTimeout)}");
        Duration("SyncInterval", o.SyncInterval, TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(5), zeroIsOff: true);
        Duration("AlertInterval", o.AlertInterval, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1), zeroIsOff: true);
        Duration("HeartbeatInterval", o.HeartbeatInterval, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5), zeroIsOff: true);
        Duration("InstanceTimeout", o.InstanceTimeout, TimeSpan.FromSeconds(2), TimeSpan.FromHours(1));
        Check(o.HeartbeatInterval == TimeSpan.Zero || o.InstanceTimeout > o.HeartbeatInterval, "InstanceTimeout",
            $"must be longer than HeartbeatInterval ({OptionProblems.Text(o.HeartbeatInterval)}), was {OptionProblems.Text(o.InstanceTimeout)}");
        Duration("QuotaRefreshInterval", o.QuotaRefreshInterval, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1));
        Check(!string.IsNullOrWhiteSpace(o.InstanceName) && o.InstanceName.Length <= 128, "InstanceName", "must be 1 to 128 characters");
        Duration("States:Window", s.Window, TimeSpan.FromSeconds(10), TimeSpan.FromDays(1));
        Duration("States:BaselineWindow", s.BaselineWindow, TimeSpan.FromSeconds(10), TimeSpan.FromDays(30));
        Check(s.BaselineWindow > s.Window, "States:BaselineWindow", $"must be longer than States:Window ({OptionProblems.Text(s.Window)}), was {OptionProblems.Text(s.BaselineWindow)}");
        Check(s.MinCalls >= 1, "States:MinCalls", $"must be at least 1, was {s.MinCalls}");
        Check(s.MinBaselineCalls >= 1, "States:MinBaselineCalls", $"must be at least 1, was {s.MinBaselineCalls}");
        Check(s.DegradedErrorRate is > 0 and <= 1 && s.CriticalErrorRate is > 0 and <= 1 && s.DegradedErrorRate <= s.CriticalErrorRate,
            "States:DegradedErrorRate", $"and States:CriticalErrorRate must be in (0, 1] with degraded <= critical, were {s.DegradedErrorRate} and {s.CriticalErrorRate}");
        Check(s.DegradedLatencyFactor > 1, "States:DegradedLatencyFactor", $"must be above 1, was {s.DegradedLatencyFactor}");
        Duration("Alerts:OfflineFor", a.OfflineFor, TimeSpan.Zero, TimeSpan.FromDays(1));
        Check(a.MinCalls >= 1, "Alerts:MinCalls", $"must be at least 1, was {a.MinCalls}");
        Check(a.ErrorRate is >= 0 and < 1, "Alerts:ErrorRate", $"must be in [0, 1), was {a.ErrorRate}");
        Check(a.FallbackRate is >= 0 and < 1, "Alerts:FallbackRate", $"must be in [0, 1), was {a.FallbackRate}");
        Check(a.LatencyFactor > 1, "Alerts:LatencyFactor", $"must be above 1, was {a.LatencyFactor}");
        Check(a.FlappingOpens >= 2, "Alerts:FlappingOpens", $"must be at least 2, was {a.FlappingOpens}");
        Duration("Alerts:FlappingWindow", a.FlappingWindow, TimeSpan.FromSeconds(1), TimeSpan.FromDays(1));
        Check(a.QuotaLow is >= 0 and < 1, "Alerts:QuotaLow", $"must be in [0, 1), was {a.QuotaLow}");
        return problems.Result();
    }
}

/// <summary>One entry of the <c>Pacing</c> section, e.g. <c>Pacing__gemini__RequestsPerMinute=15</c>.</summary>
public sealed class PacingOptions
{
    /// <summary>Calls allowed per rolling minute, up to 1,000,000; 0 means no limit.</summary>
    [Range(0, 1_000_000)]
    public int RequestsPerMinute { get; set; }

    /// <summary>Estimated tokens (prompt characters / 4 plus the output budget) per rolling minute, up to 100,000,000; 0 means no limit.</summary>
    [Range(0, 100_000_000)]
    public int TokensPerMinute { get; set; }

    /// <summary>
    /// When the budget is spent, wait for it if it frees up within this long (at most 1 min, the budget's window);
    /// otherwise move to the next step at once.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan MaxWait { get; set; } = TimeSpan.Zero;
}

/// <summary>The <c>Pacing</c> section: provider name (case-insensitive) to its limits.</summary>
public sealed class PacingSection : Dictionary<string, PacingOptions>
{
    public const string Section = "Pacing";

    public PacingSection() : base(StringComparer.OrdinalIgnoreCase)
    {
    }
}

/// <summary>
/// Checks the <c>Pacing</c> section at start: every entry names a configured provider (a misspelt name would pace
/// nothing), its limits are in range, and it holds no unknown setting.
/// </summary>
public sealed class PacingSectionValidator(IOptions<ProvidersOptions> providers, IConfiguration configuration) : IValidateOptions<PacingSection>
{
    public ValidateOptionsResult Validate(string? name, PacingSection section)
    {
        var problems = new OptionProblems();
        var configured = ProvidersOptions.ValidOrNull(providers);

        foreach (var (provider, pacing) in section)
        {
            var key = $"{PacingSection.Section}:{provider}";
            problems.Check(configured is null || configured.ContainsKey(provider), key,
                $"is not a configured provider; configured: {string.Join(", ", configured?.Keys.AsEnumerable() ?? [])}", $"{OptionProblems.Env(key)}__*");
            problems.Annotations(pacing, key);
        }

        foreach (var entry in configuration.GetSection(PacingSection.Section).GetChildren())
        {
            problems.UnknownSettings(entry, typeof(PacingOptions));
        }

        return problems.Result();
    }
}
