using System.Diagnostics.Metrics;
using Worker.Chain;
using Worker.Contracts;
using Worker.Persistence;
using Worker.Providers;
using Worker.Telemetry;

namespace Worker.Metrics;

/// <summary>
/// The worker's instruments (meter <c>Worker</c>), recorded from the audit rows so metrics and the audit trail
/// always agree on names: outcome, provider, model, error class and decision are the rows' values.
/// </summary>
public sealed class WorkerMetrics
{
    public const string MeterName = WorkerActivity.Name;

    private static readonly string FellBack = Decision.FellBack.ToWireName();

    private readonly Counter<long> _requests;
    private readonly Counter<long> _calls;
    private readonly Counter<long> _fallbacks;
    private readonly Histogram<double> _callDuration;
    private readonly Counter<long> _tokens;
    private readonly Counter<double> _cost;
    private readonly Counter<long> _routes;
    private readonly Counter<long> _deadlineRejections;
    private readonly Counter<long> _tenantLimited;
    private readonly Counter<long> _shed;

    public WorkerMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _requests = meter.CreateCounter<long>("worker.requests", "{request}", "Requests finished, by outcome (succeeded, failed) and failure reason.");
        _calls = meter.CreateCounter<long>("worker.provider.calls", "{call}", "Provider calls, by provider, model, error class and the decision taken after them.");
        _fallbacks = meter.CreateCounter<long>("worker.fallbacks", "{fallback}", "Moves to the chain's next step, by the provider and model left and why.");
        _callDuration = meter.CreateHistogram<double>("worker.provider.call.duration", "ms", "Provider call latency.");
        _tokens = meter.CreateCounter<long>("worker.tokens", "{token}", "Tokens reported by providers, by type (input, output).");
        _cost = meter.CreateCounter<double>("worker.cost", "USD", "Estimated spend from the Pricing table.");
        _routes = meter.CreateCounter<long>("worker.routes", "{decision}",
            "Routing decisions, by tier (the route key, or chain:NAME) and the provider and model put first.");
        _deadlineRejections = meter.CreateCounter<long>("worker.deadline.rejections", "{request}",
            "Requests answered deadline_exceeded without any provider call, by chain and reason (expired, too_little_time).");
        _tenantLimited = meter.CreateCounter<long>("worker.tenant_limit.deferrals", "{deferral}",
            "Deliveries put back for a short wait because their tenant had every place under TenantLimits taken.");
        _shed = meter.CreateCounter<long>("worker.shed", "{request}",
            "Sheddable requests answered shed without a call because the queue was behind, by trigger (depth, age).");
    }

    /// <summary>The <c>reason</c> of a request whose deadline had passed when it was dequeued (or resumed).</summary>
    public const string DeadlineExpired = "expired";

    /// <summary>The <c>reason</c> of a request whose every step was skipped: too little time left to answer before the deadline.</summary>
    public const string DeadlineTooLittleTime = "too_little_time";

    /// <summary>Counts one delivery deferred by its tenant's concurrency limit.</summary>
    public void TenantLimited() => _tenantLimited.Add(1);

    /// <summary>
    /// Why a run's outcome is a deadline rejection (deadline_exceeded with no provider call for the request, in this run
    /// or an earlier one), or null: <see cref="DeadlineTooLittleTime"/> when a step was skipped for lack of time, else
    /// <see cref="DeadlineExpired"/>. GET /metrics/deadlines tells them apart the same way, from the audit rows.
    /// </summary>
    public static string? DeadlineRejection(ChainOutcome outcome) =>
        outcome.FailureReason == FailureReasons.DeadlineExceeded && outcome.TotalCalls == 0
            ? outcome.Attempts.Any(a => a.Note == ChainRunner.DeadlineSkip) ? DeadlineTooLittleTime : DeadlineExpired
            : null;

    /// <summary>Counts one deadline rejection of a request on <paramref name="chain"/>.</summary>
    public void DeadlineRejected(string chain, string reason) => _deadlineRejections.Add(1, new("chain", chain), new("reason", reason));

    /// <summary>Counts one sheddable request answered <c>shed</c>, by the limit that was passed (depth, age).</summary>
    public void Shed(string trigger) => _shed.Add(1, new KeyValuePair<string, object?>("trigger", trigger));

    /// <summary>Counts one routing decision: a run of a request starting (or resuming) in the order it was given.</summary>
    public void Routed(string tier, string first) => _routes.Add(1, new("tier", tier), new("first", first));

    /// <summary>Records one finished request (a completed chain or a rejected request) and its attempts.</summary>
    public void Record(RequestRow request)
    {
        _requests.Add(1,
            new("outcome", request.Status),
            new("failure_reason", request.FailureReason ?? "none"),
            new("chain", request.Chain));

        foreach (var attempt in request.Attempts)
        {
            if (!attempt.CallMade)
            {
                continue;
            }

            var provider = new KeyValuePair<string, object?>("provider", attempt.Provider);
            var model = new KeyValuePair<string, object?>("model", attempt.Model);
            var errorClass = new KeyValuePair<string, object?>("error_class", attempt.ErrorClass ?? "none");
            _calls.Add(1, provider, model, errorClass, new("decision", attempt.Decision));
            _callDuration.Record(attempt.LatencyMs, provider, model, new("outcome", attempt.Outcome));

            if (attempt.Decision == FellBack)
            {
                _fallbacks.Add(1, provider, model, errorClass);
            }

            if (attempt.InputTokens is { } input)
            {
                _tokens.Add(input, provider, model, new("type", "input"));
            }

            if (attempt.OutputTokens is { } output)
            {
                _tokens.Add(output, provider, model, new("type", "output"));
            }

            if (attempt.CostUsd is { } cost)
            {
                _cost.Add((double)cost, provider, model);
            }
        }
    }
}
