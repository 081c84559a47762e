using Worker.Contracts;
using Worker.ProviderHealth;
using Worker.Providers;

namespace Worker.Chain;

/// <summary>
/// Runs one request through the steps of its chain: calls, classifies, retries, falls back, and records every
/// decision. This is the only retry loop in the worker; providers, HTTP handlers and the bus never retry a call.
/// Before each call the step's pacing budget and circuit breaker are consulted: a step that may not be called is
/// skipped at once, with no call and no wait, and recorded as such.
/// </summary>
public sealed class ChainRunner(
    IProviderRegistry providers,
    CircuitBreakers breakers,
    RateBudgets budgets,
    TimeProvider time,
    ILogger<ChainRunner> logger,
    Random? random = null)
{
    private readonly Random _random = random ?? Random.Shared;

    public async Task<ChainOutcome> RunAsync(CompletionRequested request, IReadOnlyList<ChainStep> steps, CancellationToken cancellationToken)
    {
        var attempts = new List<AttemptRecord>();
        var deadline = request.Deadline;

        if (deadline is { } d && time.GetUtcNow() >= d)
        {
            return Failed(FailureReasons.DeadlineExceeded, $"The deadline {d:O} had passed before any provider was called.", attempts);
        }

        var providerRequest = new ProviderRequest("", request.Messages, request.MaxOutputTokens, request.Temperature);
        var estimatedTokens = (int)Math.Min(int.MaxValue, request.Messages.Sum(m => (long)m.Content.Length) / 4 + (request.MaxOutputTokens ?? 0));
        foreach (var step in steps)
        {
            var isLastStep = step.Index == steps.Count - 1;
            if (!providers.TryGet(step.Provider, out var provider))
            {
                // Configuration is validated at start, so this means a chain was edited at run time.
                Skip(request.RequestId, step, attempts, $"provider '{step.Provider}' is not configured");
                continue;
            }

            for (var attempt = 1; ; attempt++)
            {
                var startedAt = time.GetUtcNow();
                var remaining = deadline - startedAt;
                if (remaining <= TimeSpan.Zero)
                {
                    Skip(request.RequestId, step, attempts, "skipped: deadline");
                    return Failed(FailureReasons.DeadlineExceeded, $"The deadline {deadline:O} passed after {Calls(attempts)} provider call(s).", attempts);
                }

                if (await PaceAsync(step, estimatedTokens, deadline, cancellationToken) is { } paced)
                {
                    Skip(request.RequestId, step, attempts, paced);
                    break;
                }

                startedAt = time.GetUtcNow();
                remaining = deadline - startedAt;
                var timeout = remaining is { } left && left < step.Timeout ? left : step.Timeout;
                var result = await breakers.ExecuteAsync(step.Provider, step.Model,
                    ct => CallAsync(provider, providerRequest with { Model = step.Model }, timeout, ct), cancellationToken);
                if (result is null)
                {
                    Skip(request.RequestId, step, attempts, "skipped: breaker open");
                    break;
                }

                var endedAt = time.GetUtcNow();

                if (result is ProviderSuccess success)
                {
                    attempts.Add(Record(step, attempt, startedAt, endedAt, null, Decision.Answered, null, success));
                    Log.Answered(logger, request.RequestId, step.Provider, step.Model, attempt, (long)(endedAt - startedAt).TotalMilliseconds);
                    return new ChainOutcome(success, step, null, null, attempts);
                }

                var failure = (ProviderFailure)result;
                var errorClass = failure.Class.ToWireName();
                if (failure.Class == ErrorClass.RateLimited)
                {
                    budgets.Throttled(step.Provider, failure.RetryAfter);
                }

                Log.FailureDetail(logger, request.RequestId, step.Provider, step.Model, failure.Detail);
                var action = ErrorPolicy.ActionFor(failure.Class);

                if (action == FailureAction.FailRequest)
                {
                    const string invalid = "the provider rejected the request as invalid";
                    attempts.Add(Record(step, attempt, startedAt, endedAt, failure, Decision.GaveUp, null, null, invalid));
                    Log.GivingUp(logger, request.RequestId, step.Provider, step.Model, attempt, errorClass, failure.HttpStatus, invalid);
                    return Failed(FailureReasons.InvalidRequest, $"{step.Provider}/{step.Model} rejected the request: {failure.Detail}", attempts);
                }

                string why;
                if (action == FailureAction.Retry && attempt <= step.MaxRetries)
                {
                    var delay = Backoff.Delay(step, attempt, failure.RetryAfter, _random.NextDouble());
                    if (failure.RetryAfter > step.MaxRetryAfter)
                    {
                        why = $"Retry-After {failure.RetryAfter.Value.TotalSeconds:0.#} s exceeds MaxRetryAfter {step.MaxRetryAfter.TotalSeconds:0.#} s";
                    }
                    else if (deadline is { } dl && endedAt + delay >= dl)
                    {
                        why = $"no time left before the deadline to wait {delay.TotalMilliseconds:0} ms";
                    }
                    else
                    {
                        attempts.Add(Record(step, attempt, startedAt, endedAt, failure, Decision.Retried, delay, null, $"retry {attempt} of {step.MaxRetries}"));
                        Log.Retrying(logger, request.RequestId, step.Provider, step.Model, attempt, errorClass, failure.HttpStatus, (long)delay.TotalMilliseconds);
                        await Task.Delay(delay, time, cancellationToken);
                        continue;
                    }
                }
                else
                {
                    why = action == FailureAction.Retry ? $"{step.MaxRetries} retries spent" : $"{errorClass} is not retried on the same step";
                }

                if (isLastStep)
                {
                    why += "; no step left";
                    attempts.Add(Record(step, attempt, startedAt, endedAt, failure, Decision.GaveUp, null, null, why));
                    Log.GivingUp(logger, request.RequestId, step.Provider, step.Model, attempt, errorClass, failure.HttpStatus, why);
                }
                else
                {
                    attempts.Add(Record(step, attempt, startedAt, endedAt, failure, Decision.FellBack, null, null, why));
                    Log.FallingBack(logger, request.RequestId, step.Provider, step.Model, attempt, errorClass, failure.HttpStatus, why);
                }

                break;
            }
        }

        return Exhausted(attempts);
    }

    /// <summary>Takes a slot in the provider's budget, waiting when the wait is short; else says why the step is skipped.</summary>
    private async Task<string?> PaceAsync(ChainStep step, int estimatedTokens, DateTimeOffset? deadline, CancellationToken cancellationToken)
    {
        while (true)
        {
            var pace = budgets.TryAcquire(step.Provider, estimatedTokens);
            if (pace.Allowed)
            {
                return null;
            }

            if (!pace.WorthWaiting || (deadline is { } d && time.GetUtcNow() + pace.Wait >= d))
            {
                return "skipped: " + pace.Reason;
            }

            await Task.Delay(pace.Wait, time, cancellationToken);
        }
    }

    private async Task<ProviderResult> CallAsync(ICompletionProvider provider, ProviderRequest request, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var timeoutSource = new CancellationTokenSource(timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutSource.Token);
        try
        {
            return await provider.CompleteAsync(request, linked.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Our own attempt timeout: a classified failure, never a bare cancellation that would look like shutdown.
            return new ProviderFailure(ErrorClass.Timeout, $"no answer within {timeout.TotalMilliseconds:0} ms");
        }
    }

    private void Skip(Guid requestId, ChainStep step, List<AttemptRecord> attempts, string why)
    {
        var now = time.GetUtcNow();
        attempts.Add(new AttemptRecord(step.Index, step.Provider, step.Model, 0, now, now, CallMade: false,
            null, null, null, Decision.Skipped, null, null, null, null, why));
        Log.Skipped(logger, requestId, step.Provider, step.Model, why);
    }

    private static AttemptRecord Record(ChainStep step, int attempt, DateTimeOffset startedAt, DateTimeOffset endedAt,
        ProviderFailure? failure, Decision decision, TimeSpan? wait, ProviderSuccess? success, string? note = null) =>
        new(step.Index, step.Provider, step.Model, attempt, startedAt, endedAt, CallMade: true,
            failure?.Class, failure?.HttpStatus, failure?.RetryAfter, decision, wait,
            success?.InputTokens, success?.OutputTokens, failure?.Detail, note);

    private static ChainOutcome Exhausted(List<AttemptRecord> attempts)
    {
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
        return Failed(reason, $"Every step of the chain failed. {summary}", attempts);
    }

    private static ChainOutcome Failed(string reason, string error, List<AttemptRecord> attempts) =>
        new(null, null, reason, error, attempts);

    private static int Calls(List<AttemptRecord> attempts) => attempts.Count(a => a.CallMade);
}
