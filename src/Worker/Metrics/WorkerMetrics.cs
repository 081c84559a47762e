using System.Diagnostics.Metrics;
using Worker.Chain;
using Worker.Persistence;
using Worker.Providers;

namespace Worker.Metrics;

/// <summary>
/// The worker's instruments (meter <c>Worker</c>), recorded from the audit rows so metrics and the audit trail
/// always agree on names: outcome, provider, model, error class and decision are the rows' values.
/// </summary>
public sealed class WorkerMetrics
{
    public const string MeterName = "Worker";

    private static readonly string FellBack = Decision.FellBack.ToWireName();

    private readonly Counter<long> _requests;
    private readonly Counter<long> _calls;
    private readonly Counter<long> _fallbacks;
    private readonly Histogram<double> _callDuration;
    private readonly Counter<long> _tokens;
    private readonly Counter<double> _cost;
    private readonly Counter<long> _routes;
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
        _shed = meter.CreateCounter<long>("worker.shed", "{request}",
            "Sheddable requests answered shed without a call because the queue was behind, by trigger (depth, age).");
    }

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
