using Microsoft.Extensions.Options;
using Worker.Budgets;
using Worker.Contracts;
using Worker.ProviderHealth;
using Worker.Providers;
using Worker.Structured;

namespace Worker.Chain;

/// <summary>
/// Runs one request through the steps of its chain: calls, classifies, retries, falls back, and records every
/// decision. This is the only retry loop in the worker; providers, HTTP handlers and the bus never retry a call.
/// Before each call the step's pacing budget and circuit breaker are consulted: a step that may not be called is
/// skipped at once, with no call and no wait, and recorded as such. Before a run gives up, every step that might still
/// answer gets one last call (<see cref="LastChanceAsync"/>).
/// </summary>
/// <remarks>
/// Waits up to Chain:InProcessWaitLimit happen here. A longer one (a Retry-After of a minute, a spent pacing budget)
/// ends the run with a <see cref="ChainDeferral"/> instead: the consumer stores the request with the position to
/// resume at, and <see cref="RunAsync(CompletionRequested, IReadOnlyList{ChainStep}, ChainStart, CancellationToken)"/>
/// picks it up there. So does a run whose remaining steps are all known down (breaker open, pacing closed by a spent quota):
/// backpressure instead of parking, until the step that comes back first may be tried. Deferral stops at the deadline
/// and at Chain:MaxDeferral; past them the run ends as it always did.
/// </remarks>
public sealed class ChainRunner(
    IProviderRegistry providers,
    CircuitBreakers breakers,
    RateBudgets budgets,
    IOptions<ChainRunOptions> options,
    TimeProvider time,
    ILogger<ChainRunner> logger,
    Random? random = null,
    CallCost? costs = null,
    ITenantBudgets? tenants = null,
    CapabilityTable? capabilities = null)
{
    /// <summary>The note of a step skipped because its estimated cost does not fit the request's or the tenant's budget.</summary>
    public const string BudgetSkip = "skipped: budget";

    /// <summary>The note of a step skipped because too little time was left before the deadline.</summary>
    public const string DeadlineSkip = "skipped: deadline";

    /// <summary>
    /// The longest a call waits for room under a provider's in-flight limit (learnt from its 429s) before the step is
    /// skipped: a provider that keeps answering 429 costs a request at most this before its fallback.
    /// </summary>
    internal static readonly TimeSpan MaxSlotWait = TimeSpan.FromSeconds(1);

    /// <summary>A deferral is never shorter than this, so a run that finds everything down does not spin.</summary>
    internal static readonly TimeSpan MinDeferral = TimeSpan.FromSeconds(1);

    private readonly Random _random = random ?? Random.Shared;

    public Task<ChainOutcome> RunAsync(CompletionRequested request, IReadOnlyList<ChainStep> steps, CancellationToken cancellationToken) =>
        RunAsync(request, steps, ChainStart.Beginning, cancellationToken);

    /// <summary>Runs the chain from <paramref name="start"/> (the beginning, or where a deferred run stopped).</summary>
    public async Task<ChainOutcome> RunAsync(CompletionRequested request, IReadOnlyList<ChainStep> steps, ChainStart start, CancellationToken cancellationToken)
    {
        using var span = ChainSpans.StartRun(request, start);
        var run = new Run(request, start, time.GetUtcNow(), options.Value);
        try
        {
            var outcome = await RunStepsAsync(run, steps, start, cancellationToken);
            ChainSpans.EndRun(span, outcome);
            return outcome;
        }
        finally
        {
            // A call cut short by shutdown has no decision after it; its span still ends.
            run.Call?.Dispose();
        }
    }

    private async Task<ChainOutcome> RunStepsAsync(Run run, IReadOnlyList<ChainStep> steps, ChainStart start, CancellationToken cancellationToken)
    {
        var request = run.Request;
        var deadline = request.Deadline;

        if (deadline is { } d && time.GetUtcNow() >= d)
        {
            return run.Failed(FailureReasons.DeadlineExceeded, $"The deadline {d:O} had passed before any provider was called.");
        }

        var providerRequest = new ProviderRequest("", request.Messages, request.MaxOutputTokens, request.Temperature,
            request.Tools, request.ToolChoice, request.ResponseFormat);
        foreach (var step in steps.Where(s => s.Index >= start.StepIndex))
        {
            var isLastStep = step.Index == steps.Count - 1;
            if (!providers.TryGet(step.Provider, out var provider))
            {
                // Configuration is validated at start, so this means a chain was edited at run time.
                Skip(run, step, $"provider '{step.Provider}' is not configured");
                continue;
            }

            if (CannotServe(step, provider, providerRequest, request) is { } unservable)
            {
                // Known without a call: the model lacks a capability the request needs, or its dialect cannot take the schema.
                Skip(run, step, unservable);
                run.Unservable.Add(run.Attempts.Count - 1);
                continue;
            }

            var retriedOnce = false;
            var retries = new StepRetries(step, step.Index == start.StepIndex ? start.Attempt : 1);
            for (var attempt = step.Index == start.StepIndex ? start.Attempt : 1; ; attempt++)
            {
                var startedAt = time.GetUtcNow();
                var remaining = deadline - startedAt;
                if (remaining <= TimeSpan.Zero)
                {
                    Skip(run, step, DeadlineSkip);
                    return run.Failed(FailureReasons.DeadlineExceeded, $"The deadline {deadline:O} passed after {run.Calls} provider call(s).");
                }

                if (remaining < step.MinTimeToAnswer)
                {
                    // No new step starts without the time to answer: a call that cannot finish would only be paid for.
                    Log.TooLittleTime(logger, request.RequestId, step.Provider, step.Model, (long)remaining.Value.TotalMilliseconds,
                        (long)step.MinTimeToAnswer.TotalMilliseconds);
                    Skip(run, step, DeadlineSkip);
                    break;
                }

                if (OverRequestBudget(run, step) is { } over)
                {
                    Skip(run, step, over);
                    break;
                }

                var pace = await PaceAsync(step, run.EstimatedTokens, deadline, cancellationToken);
                using var slot = pace.Slot;
                if (pace.DeferUntil is { } until)
                {
                    if (run.CanDefer(until, step, deadline) is null)
                    {
                        return Defer(run, step, attempt, until, DeferralKinds.Pacing, pace.Reason!);
                    }

                    Skip(run, step, "skipped: " + pace.Reason, (attempt, until));
                    break;
                }

                if (pace.Reason is { } paced)
                {
                    Skip(run, step, "skipped: " + paced, pace.AvailableAt is { } availableAt ? (attempt, availableAt) : null);
                    break;
                }

                var charge = await ChargeTenantAsync(run, step, cancellationToken);
                if (charge is null)
                {
                    Skip(run, step, $"{BudgetSkip}: tenant '{request.Tenant}' has too little of its daily budget left");
                    break;
                }

                startedAt = time.GetUtcNow();
                var result = await CallThroughBreakerAsync(run, step, attempt, provider, providerRequest, slot!, deadline, lastChance: false, cancellationToken);
                await SettleAsync(run, step, charge, result, cancellationToken);
                if (result is null)
                {
                    Skip(run, step, BreakerSkip,
                        (attempt, breakers.UnavailableUntil(step.Provider, step.Model) ?? time.GetUtcNow() + CircuitBreakers.HalfOpenProbeWait));
                    break;
                }

                var endedAt = time.GetUtcNow();

                if (result is ProviderSuccess success)
                {
                    run.Add(Record(step, attempt, startedAt, endedAt, null, Decision.Answered, null, success));
                    Log.Answered(logger, request.RequestId, step.Provider, step.Model, attempt, (long)(endedAt - startedAt).TotalMilliseconds);
                    return run.Answered(success, step);
                }

                var failure = (ProviderFailure)result;
                var errorClass = failure.Class.ToWireName();
                Log.FailureDetail(logger, request.RequestId, step.Provider, step.Model, failure.Detail);
                var action = step.ActionFor(failure.Class);
                if (action == FailureAction.RetryOnce && !retriedOnce)
                {
                    retriedOnce = true;
                    run.Add(Record(step, attempt, startedAt, endedAt, failure, Decision.Retried, TimeSpan.Zero, null, $"one more call after {errorClass}"));
                    Log.Retrying(logger, request.RequestId, step.Provider, step.Model, attempt, errorClass, failure.HttpStatus, 0);
                    continue;
                }

                if (action == FailureAction.FailRequest)
                {
                    const string invalid = "the provider rejected the request as invalid";
                    run.Add(Record(step, attempt, startedAt, endedAt, failure, Decision.GaveUp, null, null, invalid));
                    Log.GivingUp(logger, request.RequestId, step.Provider, step.Model, attempt, errorClass, failure.HttpStatus, invalid);
                    return run.Failed(FailureReasons.InvalidRequest, $"{step.Provider}/{step.Model} rejected the request: {failure.Detail}");
                }

                string why;
                var policy = step.PolicyFor(failure.Class);
                var retry = retries.Next(failure.Class, attempt);
                if (action == FailureAction.Retry && retry <= policy.MaxRetries)
                {
                    var delay = Backoff.Delay(policy, retry, failure.RetryAfter, _random.NextDouble());
                    if (failure.RetryAfter > step.MaxRetryAfter)
                    {
                        why = $"Retry-After {failure.RetryAfter.Value.TotalSeconds:0.#} s exceeds MaxRetryAfter {step.MaxRetryAfter.TotalSeconds:0.#} s";
                    }
                    else if (deadline is { } dl && endedAt + delay + step.MinTimeToAnswer > dl)
                    {
                        why = $"no time left before the deadline to wait {delay.TotalMilliseconds:0} ms and answer";
                    }
                    else if (delay <= run.Options.InProcessWaitLimit || !run.Options.DeferralEnabled)
                    {
                        retries.Made(failure.Class);
                        run.Add(Record(step, attempt, startedAt, endedAt, failure, Decision.Retried, delay, null, $"retry {retry} of {policy.MaxRetries}"));
                        Log.Retrying(logger, request.RequestId, step.Provider, step.Model, attempt, errorClass, failure.HttpStatus, (long)delay.TotalMilliseconds);
                        await Task.Delay(delay, time, cancellationToken);
                        continue;
                    }
                    else if (run.CanDefer(endedAt + delay, step, deadline) is { } tooLong)
                    {
                        why = $"a {delay.TotalSeconds:0.#} s wait {tooLong}";
                    }
                    else
                    {
                        // The wait is long: hand the consumer slot back and resume this step later, durably.
                        var note = failure.RetryAfter is { } asked ? $"Retry-After {asked.TotalSeconds:0.#} s" : $"backoff {delay.TotalSeconds:0.#} s";
                        run.Add(Record(step, attempt, startedAt, endedAt, failure, Decision.Deferred, delay, null,
                            $"retry {retry} of {policy.MaxRetries} deferred: {note}"));
                        return Deferred(run, step, attempt + 1, endedAt + delay, DeferralKinds.Retry, $"{step.Provider}/{step.Model} {errorClass}: {note}");
                    }
                }
                else
                {
                    why = action switch
                    {
                        FailureAction.Retry => $"{policy.MaxRetries} retries spent",
                        FailureAction.RetryOnce => $"{errorClass} twice in a row",
                        _ => $"{errorClass} is not retried on the same step",
                    };
                }

                if (isLastStep)
                {
                    why += "; no step left";
                    run.Add(Record(step, attempt, startedAt, endedAt, failure, Decision.GaveUp, null, null, why));
                    Log.GivingUp(logger, request.RequestId, step.Provider, step.Model, attempt, errorClass, failure.HttpStatus, why);
                }
                else
                {
                    run.Add(Record(step, attempt, startedAt, endedAt, failure, Decision.FellBack, null, null, why));
                    Log.FallingBack(logger, request.RequestId, step.Provider, step.Model, attempt, errorClass, failure.HttpStatus, why);
                }

                break;
            }
        }

        // Taken before the last chance, whose calls come after the skips: if it fails, the skips still say what is down.
        var down = run.TrailingDown();
        if (await LastChanceAsync(run, steps, start, providerRequest, deadline, cancellationToken) is { } rescued)
        {
            return rescued;
        }

        // Backpressure: the steps left were not tried because they are known down (breaker open, pacing closed by a
        // 429). Failing now would burn the backlog into parked requests; wait (durably) until the first of them may be
        // tried again, and resume there.
        if (down is [var first, ..] && run.Options.DeferralEnabled)
        {
            var step = steps.First(s => s.Index == first.Step);
            var until = down.Min(d => d.Until);
            var floor = time.GetUtcNow() + MinDeferral;
            until = until > floor ? until : floor;
            if (run.CanDefer(until, step, deadline) is null)
            {
                return Defer(run, step, first.Attempt, until, DeferralKinds.Unavailable,
                    "no step left that may be called now: " + string.Join("; ", down.Select(d => $"{run.Attempts[d.Record].Provider}/{run.Attempts[d.Record].Model} {run.Attempts[d.Record].Note}")));
            }
        }

        return Exhausted(run);
    }

    /// <summary>
    /// Before the run fails or waits: one more call on every step that might still answer, in chain order. A step skipped
    /// for its open breaker gets it as an early half-open trial, if the breaker admits one (about one per breaker every
    /// 2 s, so a real outage costs next to nothing); a step that failed with a server, network, timeout or bad-output error
    /// gets one more call, because such errors come and go. Steps refused by pacing, rejected (auth, invalid), blocked or
    /// short of time are left alone. A request therefore fails only when nothing that might answer is left.
    /// </summary>
    private async Task<ChainOutcome?> LastChanceAsync(Run run, IReadOnlyList<ChainStep> steps, ChainStart start, ProviderRequest request,
        DateTimeOffset? deadline, CancellationToken cancellationToken)
    {
        foreach (var step in steps.Where(s => s.Index >= start.StepIndex))
        {
            if (run.Attempts.LastOrDefault(a => a.StepIndex == step.Index) is not { } last || !MightStillAnswer(last) || !providers.TryGet(step.Provider, out var provider))
                continue;
            if (deadline - time.GetUtcNow() < step.MinTimeToAnswer || OverRequestBudget(run, step) is not null)
                continue;

            using var slot = await budgets.Concurrency.EnterAsync(step.Provider, TimeSpan.Zero, cancellationToken);
            if (slot is null || !budgets.TryAcquire(step.Provider, run.EstimatedTokens).Allowed)
                continue;
            if (await ChargeTenantAsync(run, step, cancellationToken) is not { } charge)
                continue;

            var attempt = run.Attempts.Where(a => a.StepIndex == step.Index).Max(a => a.Attempt) + 1;
            var startedAt = time.GetUtcNow();
            var result = await CallThroughBreakerAsync(run, step, attempt, provider, request, slot, deadline, lastChance: true, cancellationToken);
            await SettleAsync(run, step, charge, result, cancellationToken);
            var endedAt = time.GetUtcNow();
            switch (result)
            {
                case null:
                    continue;
                case ProviderSuccess success:
                    run.Add(Record(step, attempt, startedAt, endedAt, null, Decision.Answered, null, success, LastChanceNote));
                    Log.Answered(logger, run.Request.RequestId, step.Provider, step.Model, attempt, (long)(endedAt - startedAt).TotalMilliseconds);
                    return run.Answered(success, step);
                case ProviderFailure failure:
                    run.Add(Record(step, attempt, startedAt, endedAt, failure, Decision.GaveUp, null, null, LastChanceNote));
                    Log.GivingUp(logger, run.Request.RequestId, step.Provider, step.Model, attempt, failure.Class.ToWireName(), failure.HttpStatus, LastChanceNote);
                    if (step.ActionFor(failure.Class) == FailureAction.FailRequest)
                        return run.Failed(FailureReasons.InvalidRequest, $"{step.Provider}/{step.Model} rejected the request: {failure.Detail}");
                    break;
            }
        }

        return null;

        static bool MightStillAnswer(AttemptRecord last) => last.CallMade
            ? last.ErrorClass is ErrorClass.Server or ErrorClass.Network or ErrorClass.Timeout or ErrorClass.BadOutput
            : last.Note == BreakerSkip;
    }

    /// <summary>
    /// Why <paramref name="step"/> cannot serve the request at all (the capability table, or the provider's own refusal of
    /// a schema it cannot express), as a skip note; null when it can.
    /// </summary>
    private string? CannotServe(ChainStep step, ICompletionProvider provider, ProviderRequest request, CompletionRequested original)
    {
        if (capabilities?.Refusal(step.Model, original) is { } refusal)
            return refusal;
        return provider.CannotServe(request with { Model = step.Model }) is { } reason ? "skipped: " + reason : null;
    }

    /// <summary>The note of a call made by <see cref="LastChanceAsync"/>.</summary>
    public const string LastChanceNote = "last chance";

    /// <summary>The note of a step skipped because its breaker refused the call.</summary>
    public const string BreakerSkip = "skipped: breaker open";

    /// <summary>
    /// Why the step's next call would pass the request's <c>route.maxCostUsd</c> (what earlier calls cost plus this call's
    /// estimate), or null when it fits or the request has no cap or the model no price.
    /// </summary>
    private string? OverRequestBudget(Run run, ChainStep step)
    {
        if (run.Request.Route?.MaxCostUsd is not { } max || costs?.Estimate(step.Model, run.Request) is not { } estimate)
            return null;
        var spent = run.PriorCostUsd + run.CostUsd;
        return (double)(spent + estimate) > max
            ? $"{BudgetSkip}: estimate {estimate:0.######} USD with {spent:0.######} USD spent passes maxCostUsd {max:0.######} USD"
            : null;
    }

    /// <summary>
    /// Charges the call's estimate to the request's tenant when it has a daily budget; null when it does not fit. A request
    /// without a tenant budget, or a model without a price, gets a charge of nothing.
    /// </summary>
    private async Task<BudgetCharge?> ChargeTenantAsync(Run run, ChainStep step, CancellationToken cancellationToken)
    {
        if (tenants is null || run.Request.Tenant is not { } tenant || !tenants.HasBudget(tenant) ||
            costs?.Estimate(step.Model, run.Request) is not { } estimate)
            return NoCharge;
        return await tenants.TryChargeAsync(tenant, estimate, cancellationToken);
    }

    /// <summary>Adds what the call cost to the run, and replaces the tenant's charged estimate by it.</summary>
    private async Task SettleAsync(Run run, ChainStep step, BudgetCharge charge, ProviderResult? result, CancellationToken cancellationToken)
    {
        // A call whose answer failed the output check was still billed: its tokens count as a success's do.
        var actual = costs is null ? 0m : result switch
        {
            ProviderSuccess success => costs.Actual(step.Model, success.InputTokens, success.OutputTokens),
            ProviderFailure failure => costs.Actual(step.Model, failure.InputTokens, failure.OutputTokens),
            _ => 0m,
        };
        run.CostUsd += actual;
        if (!ReferenceEquals(charge, NoCharge))
        {
            // Under the run's token: at shutdown during a PostgreSQL outage the settlement is given up, and the estimate stays
            // charged (conservative: the tenant is refused early, never let past its budget).
            await tenants!.SettleAsync(charge, actual, cancellationToken);
        }
    }

    /// <summary>The charge of a call no tenant budget counts.</summary>
    private static readonly BudgetCharge NoCharge = new("", default, 0m);

    /// <summary>
    /// One call through the step's breaker, with the attempt timeout cut to the time left; null when the breaker refused.
    /// The outcome goes to the provider's in-flight limit (<paramref name="slot"/>), and a 429 to its budget.
    /// </summary>
    private async Task<ProviderResult?> CallThroughBreakerAsync(Run run, ChainStep step, int attempt, ICompletionProvider provider,
        ProviderRequest request, AdaptiveConcurrency.CallSlot slot, DateTimeOffset? deadline, bool lastChance, CancellationToken cancellationToken)
    {
        var remaining = deadline - time.GetUtcNow();
        var timeout = remaining is { } left && left < step.Timeout ? left : step.Timeout;
        var result = await breakers.ExecuteAsync(step.Provider, step.Model,
            ct => CallAsync(run, step, attempt, provider, ForStep(request, step), timeout, ct), cancellationToken, lastChance: lastChance);
        if (result is not null)
            budgets.Quotas.Record(step.Provider, step.Model, result);
        var rateLimited = result is ProviderFailure { Class: ErrorClass.RateLimited } failure ? failure : null;
        slot.Complete(answered: result is ProviderSuccess, throttled: rateLimited is not null);
        if (rateLimited is not null)
        {
            budgets.Throttled(step.Provider, rateLimited.RetryAfter);
        }

        return result;
    }

    /// <summary>Ends the run with a deferral recorded as a row of its own (no call was made for it).</summary>
    private ChainOutcome Defer(Run run, ChainStep step, int attempt, DateTimeOffset until, string kind, string reason)
    {
        var now = time.GetUtcNow();
        run.Attempts.Add(new AttemptRecord(step.Index, step.Provider, step.Model, 0, now, now, CallMade: false,
            null, null, null, Decision.Deferred, until - now, null, null, null, $"deferred: {reason}"));
        return Deferred(run, step, attempt, until, kind, reason);
    }

    private ChainOutcome Deferred(Run run, ChainStep step, int attempt, DateTimeOffset until, string kind, string reason)
    {
        Log.Deferring(logger, run.Request.RequestId, step.Provider, step.Model, kind, until, reason);
        return run.Deferred(new ChainDeferral(until, step.Index, attempt, kind, reason, run.DeferralOrigin));
    }

    /// <summary>
    /// Takes a place under the provider's in-flight limit (waiting for one up to <see cref="MaxSlotWait"/>, the in-process
    /// limit or what the deadline leaves), then a slot in its budget, waiting when the wait is short. Otherwise says why
    /// the step is skipped, or, when the budget frees up within MaxWait but later than the in-process limit, until when to
    /// defer.
    /// </summary>
    private async Task<PaceResult> PaceAsync(ChainStep step, int estimatedTokens, DateTimeOffset? deadline, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var maxWait = MaxSlotWait < settings.InProcessWaitLimit ? MaxSlotWait : settings.InProcessWaitLimit;
        if (deadline - time.GetUtcNow() - step.MinTimeToAnswer is { } left && left < maxWait)
            maxWait = left;
        var slot = await budgets.Concurrency.EnterAsync(step.Provider, maxWait, cancellationToken);
        if (slot is null)
        {
            var limit = budgets.Concurrency.StatusOf(step.Provider).Limit;
            return new PaceResult($"pacing: {step.Provider} allows {limit} call(s) in flight after its 429s", time.GetUtcNow(), null, null);
        }

        try
        {
            while (true)
            {
                var pace = budgets.TryAcquire(step.Provider, estimatedTokens);
                if (pace.Allowed)
                {
                    return new PaceResult(null, null, null, slot);
                }

                var now = time.GetUtcNow();
                var availableAt = now + pace.Wait;
                if (!pace.WorthWaiting || (deadline is { } d && availableAt + step.MinTimeToAnswer >= d))
                {
                    slot.Dispose();
                    return new PaceResult(pace.Reason, availableAt, null, null);
                }

                if (pace.Wait > settings.InProcessWaitLimit && settings.DeferralEnabled)
                {
                    slot.Dispose();
                    return new PaceResult(pace.Reason, availableAt, availableAt, null);
                }

                await Task.Delay(pace.Wait, time, cancellationToken);
            }
        }
        catch
        {
            slot.Dispose();
            throw;
        }
    }

    /// <summary>The request as <paramref name="step"/>'s model gets it: its model, and maxOutputTokens no higher than it can write.</summary>
    private ProviderRequest ForStep(ProviderRequest request, ChainStep step) => request with
    {
        Model = step.Model,
        MaxOutputTokens = capabilities?.MaxOutputFor(step.Model, request.MaxOutputTokens) ?? request.MaxOutputTokens,
    };

    /// <summary>One call under the attempt timeout; an answer is then checked against what the request asked for (<see cref="OutputCheck"/>).</summary>
    /// <remarks>The call's span stays open in <see cref="Run.Call"/> until the decision after the call is recorded.</remarks>
    private async Task<ProviderResult> CallAsync(Run run, ChainStep step, int attempt, ICompletionProvider provider, ProviderRequest request,
        TimeSpan timeout, CancellationToken cancellationToken)
    {
        var span = run.Call = ChainSpans.StartCall(run.Request, step, attempt, provider, request);
        var started = time.GetTimestamp();
        using var timeoutSource = new CancellationTokenSource(timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutSource.Token);
        ProviderResult result;
        try
        {
            result = await provider.CompleteAsync(request, linked.Token);
            result = result is ProviderSuccess answer ? OutputCheck.Check(request, answer) : result;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Our own attempt timeout: a classified failure, never a bare cancellation that would look like shutdown.
            result = new ProviderFailure(ErrorClass.Timeout, $"no answer within {timeout.TotalMilliseconds:0} ms");
        }
        catch (Exception e)
        {
            ChainSpans.Threw(span, e, time.GetElapsedTime(started));
            throw;
        }

        ChainSpans.Returned(span, result, time.GetElapsedTime(started));
        return result;
    }

    /// <param name="down">Set when the step was skipped because it is down (breaker, pacing): the attempt it was at, and when it may be back.</param>
    private void Skip(Run run, ChainStep step, string why, (int Attempt, DateTimeOffset Until)? down = null)
    {
        var now = time.GetUtcNow();
        run.Attempts.Add(new AttemptRecord(step.Index, step.Provider, step.Model, 0, now, now, CallMade: false,
            null, null, null, Decision.Skipped, null, null, null, null, why));
        if (down is { } d)
        {
            run.Down.Add((run.Attempts.Count - 1, step.Index, d.Attempt, d.Until));
        }

        Log.Skipped(logger, run.Request.RequestId, step.Provider, step.Model, why);
    }

    private static AttemptRecord Record(ChainStep step, int attempt, DateTimeOffset startedAt, DateTimeOffset endedAt,
        ProviderFailure? failure, Decision decision, TimeSpan? wait, ProviderSuccess? success, string? note = null) =>
        new(step.Index, step.Provider, step.Model, attempt, startedAt, endedAt, CallMade: true,
            failure?.Class, failure?.HttpStatus, failure?.RetryAfter, decision, wait,
            success?.InputTokens ?? failure?.InputTokens, success?.OutputTokens ?? failure?.OutputTokens, failure?.Detail, note);

    private static ChainOutcome Exhausted(Run run)
    {
        var attempts = run.Attempts;
        if (run.Unservable.Count > 0 && run.Unservable.Count == attempts.Count)
        {
            // No step could take the request at all: no provider will, now or later, so it is the request that is wrong.
            return run.Failed(FailureReasons.InvalidRequest, "No step of the chain can serve this request: " +
                string.Join("; ", attempts.Select(a => $"{a.Provider}/{a.Model} {a.Note!["skipped: ".Length..]}")) + ".");
        }

        var chainEnd = attempts.Where(a => a.Note != LastChanceNote).ToList();
        if (chainEnd is [.., { CallMade: false, Note: DeadlineSkip }])
        {
            return run.Failed(FailureReasons.DeadlineExceeded,
                $"Too little time was left before the deadline {run.Request.Deadline:O} for the next step, after {run.Calls} provider call(s).");
        }

        // The chain ended because the next step did not fit the budget: that is the reason, not the providers.
        if (chainEnd is [.., { CallMade: false, Note: { } note }] && note.StartsWith(BudgetSkip, StringComparison.Ordinal))
        {
            return run.Failed(FailureReasons.BudgetExceeded, $"No step left fits the budget after {run.Calls} provider call(s): {note["skipped: ".Length..]}.");
        }

        var failed = attempts.Where(a => a.ErrorClass is not null).ToList();
        var reason = failed.Count > 0 && failed.All(a => a.ErrorClass == ErrorClass.ContentBlocked)
            ? FailureReasons.ContentBlocked
            : FailureReasons.ProvidersExhausted;

        // One line per step, e.g. "gemini/gemini-2.5-pro: server (HTTP 503) x3".
        var summary = string.Join("; ", attempts
            .GroupBy(a => (a.StepIndex, a.Provider, a.Model))
            .Select(g => $"{g.Key.Provider}/{g.Key.Model}: " + string.Join(", ", g
                .GroupBy(a => a.ErrorClass is { } c ? $"{c.ToWireName()}{(a.HttpStatus is { } s ? $" (HTTP {s})" : "")}" : a.Note ?? "skipped")
                .Select(c => c.Count() > 1 ? $"{c.Key} x{c.Count()}" : c.Key))));
        return run.Failed(reason, $"Every step of the chain failed. {summary}");
    }

    /// <summary>What <see cref="PaceAsync"/> decided: go (with <see cref="Slot"/>), skip (<see cref="Reason"/>), or defer until <see cref="DeferUntil"/>.</summary>
    private readonly record struct PaceResult(string? Reason, DateTimeOffset? AvailableAt, DateTimeOffset? DeferUntil, AdaptiveConcurrency.CallSlot? Slot);

    /// <summary>The state of one run: its records, and what deferral it may still make.</summary>
    private sealed class Run(CompletionRequested request, ChainStart start, DateTimeOffset startedAt, ChainRunOptions options)
    {
        public CompletionRequested Request { get; } = request;

        public ChainRunOptions Options { get; } = options;

        /// <summary>What the pacing budget charges per call: prompt characters / 4 plus the output budget.</summary>
        public int EstimatedTokens { get; } =
            (int)Math.Min(int.MaxValue, (long)PromptEstimate.Tokens(request) + (request.MaxOutputTokens ?? 0));

        public List<AttemptRecord> Attempts { get; } = [];

        /// <summary>The span of the call made last, open until the decision after it is recorded (<see cref="Add"/>).</summary>
        public System.Diagnostics.Activity? Call { get; set; }

        /// <summary>Records a call or a skip; a call's record ends its span with the decision taken.</summary>
        public void Add(AttemptRecord record)
        {
            Attempts.Add(record);
            if (record.CallMade && Call is { } call)
            {
                Call = null;
                ChainSpans.Decided(call, record.Decision);
            }
        }

        /// <summary>The records of steps skipped because they cannot serve the request at all (capabilities, schema dialect).</summary>
        public List<int> Unservable { get; } = [];

        /// <summary>Estimated cost of this run's calls so far, in USD.</summary>
        public decimal CostUsd { get; set; }

        public decimal PriorCostUsd => start.PriorCostUsd;

        /// <summary>Each skip of a step that is down: its record, the step and attempt it was at, and when it may be back.</summary>
        public List<(int Record, int Step, int Attempt, DateTimeOffset Until)> Down { get; } = [];

        /// <summary>The skips of down steps that end the run (nothing after them was tried), in order; empty if the run ended otherwise.</summary>
        public List<(int Record, int Step, int Attempt, DateTimeOffset Until)> TrailingDown()
        {
            var trailing = new List<(int Record, int Step, int Attempt, DateTimeOffset Until)>();
            for (var i = Attempts.Count - 1; i >= 0; i--)
            {
                var skip = Down.FindIndex(d => d.Record == i);
                if (skip < 0)
                    break;
                trailing.Insert(0, Down[skip]);
            }

            return trailing;
        }

        public int Calls => Attempts.Count(a => a.CallMade);

        /// <summary>What Chain:MaxDeferral counts from: the request's first deferral, or now.</summary>
        public DateTimeOffset DeferralOrigin => start.DeferralStartedAt ?? startedAt;

        /// <summary>Null when the run may defer until <paramref name="until"/>, else why not.</summary>
        public string? CanDefer(DateTimeOffset until, ChainStep step, DateTimeOffset? deadline)
        {
            if (!Options.DeferralEnabled)
            {
                return "cannot be deferred (Chain:MaxDeferral is 0)";
            }

            if (deadline is { } d && until + step.MinTimeToAnswer >= d)
            {
                return "would leave no time before the deadline";
            }

            return until - DeferralOrigin > Options.MaxDeferral
                ? $"exceeds Chain:MaxDeferral {Options.MaxDeferral.TotalMinutes:0.#} min (deferred since {DeferralOrigin:HH:mm:ss})"
                : null;
        }

        public ChainOutcome Answered(ProviderSuccess answer, ChainStep step) =>
            new(answer, step, null, null, Attempts) { PriorCalls = start.PriorCalls, PriorCostUsd = start.PriorCostUsd, CostUsd = CostUsd };

        public ChainOutcome Failed(string reason, string error) =>
            new(null, null, reason, error, Attempts) { PriorCalls = start.PriorCalls, PriorCostUsd = start.PriorCostUsd, CostUsd = CostUsd };

        public ChainOutcome Deferred(ChainDeferral deferral) =>
            new(null, null, null, null, Attempts) { PriorCalls = start.PriorCalls, PriorCostUsd = start.PriorCostUsd, CostUsd = CostUsd, Deferral = deferral };
    }
}
