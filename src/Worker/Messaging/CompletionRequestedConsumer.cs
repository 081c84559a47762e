using MassTransit;
using Microsoft.Extensions.Options;
using Worker.Chain;
using Worker.Contracts;
using Worker.LastResort;
using Worker.Metrics;
using Worker.Persistence;
using Worker.Requests;
using Worker.Routing;
using Worker.Tenants;

namespace Worker.Messaging;

/// <summary>
/// Runs one request through its chain and publishes exactly one result. Retries live in the chain only:
/// this endpoint has no MassTransit retry, so a provider is never paid more often than the chain says.
/// </summary>
/// <remarks>
/// The audit trail brackets the chain: a claim before the first call, then the outcome and every attempt committed
/// before the result is published and the message acknowledged. Both writes wait out a PostgreSQL outage for as long as
/// the process lives, the message unacknowledged and the outcome in memory (<see cref="WriteRetry"/>).
/// <para>
/// Every delivery claims the request first (<see cref="RequestLifecycle.ClaimAsync"/>). A finished request gets its stored
/// result re-published, with no provider call; a request running elsewhere, or deferred, is left to the
/// deferred_requests row that delivers it again; a reused id with another payload is refused. A chain that must wait
/// longer than Chain:InProcessWaitLimit is deferred: stored with its position and acknowledged, then re-published by the
/// release job and resumed where it stopped. A failure whose reason is in DeadLetters:ParkReasons parks the request
/// (<c>deadLettered: true</c>) for ops replay.
/// </para>
/// <para>
/// The last resort (<see cref="LastResortAnswers"/>, when the chain has one): a fresh cached answer answers a request before
/// any call; a provider's answer is stored in the cache after it is published. When no provider can answer (the chain
/// failed with <c>providers_exhausted</c>, or, for a request with <c>allowDegraded</c>, would be deferred because every
/// provider is down), a stale cached answer or the chain's template answers, <c>degraded</c>, and the request is parked
/// like the failure it replaces, so that a replay brings the real answer. Only where that failure would be parked
/// (DeadLetters:ParkReasons): a degraded answer is always a parked one.
/// </para>
/// </remarks>
public sealed class CompletionRequestedConsumer(
    ChainCatalog chains,
    Router router,
    ChainRunner runner,
    IRequestLifecycle audit,
    ClaimLeases leases,
    IOptions<RequestLimits> limits,
    IOptions<MessagingOptions> messaging,
    IParking parking,
    TenantConcurrency tenants,
    LoadShedder shedder,
    WorkerMetrics metrics,
    IHostApplicationLifetime lifetime,
    TimeProvider time,
    ILogger<CompletionRequestedConsumer> logger,
    LastResortAnswers? lastResort = null) : IConsumer<CompletionRequested>
{
    public async Task Consume(ConsumeContext<CompletionRequested> context)
    {
        var request = context.Message;
        using var run = RunToken(context.CancellationToken);
        var cancellationToken = run.Token;
        var receivedAt = time.GetUtcNow();
        var invalid = RequestValidator.Validate(request, chains, limits.Value) ?? router.Problem(request);
        if (invalid is not null)
        {
            Log.InvalidRequest(logger, request.RequestId, invalid);
            var rejected = Results.Failed(request, FailureReasons.InvalidRequest, invalid, 0, time.GetUtcNow());
            var (result, isRequestResult) = await audit.RejectAsync(request, invalid, receivedAt, rejected.FailedAt, rejected, cancellationToken);
            await Results.PublishAsync(context, result, isRequestResult ? null : Results.RefusalMessageId(request.RequestId, PayloadHash.Of(request)));
            return;
        }

        var claim = await audit.ClaimAsync(request, cancellationToken);
        switch (claim.Outcome)
        {
            case ClaimOutcome.Conflict:
                Log.PayloadConflict(logger, request.RequestId);
                await Results.PublishAsync(context, Results.Conflict(request, time.GetUtcNow()),
                    Results.RefusalMessageId(request.RequestId, PayloadHash.Of(request)));
                return;
            case ClaimOutcome.Finished when StoredJson.ReadResult(claim.PreviousStatus, claim.StoredResult) is { } stored:
                Log.RepublishingStoredResult(logger, request.RequestId, claim.PreviousStatus);
                await Results.PublishAsync(context, stored);
                return;
            case ClaimOutcome.Waiting:
                Log.DeliveryWaiting(logger, request.RequestId, claim.Detail ?? "running or deferred elsewhere");
                return;
        }

        if (RequestStatus.IsTerminal(claim.PreviousStatus))
        {
            // Finished before results were stored (an older schema): nothing to re-publish, so run it again.
            Log.NoStoredResult(logger, request.RequestId, claim.PreviousStatus);
        }

        // Only a first run is shed: a resumed or replayed request was already accepted, and may have been paid for.
        if (claim is { ReplayCount: 0, Start: { IsBeginning: true, PriorCalls: 0, DeferralStartedAt: null } }
            && shedder.Decide(request, SentAt(context)) is { } shed)
        {
            await ShedAsync(context, request, claim, shed, cancellationToken);
            return;
        }

        using var lease = leases.Hold(request.RequestId, claim.Token);
        var chain = router.ChainOf(request);
        var finished = false;
        try
        {
            // Before routing, so a request turned away costs no routing decision. Released however the run ends (answer,
            // failure, deferral, exception, shutdown): the using covers them all.
            using var tenantSlot = tenants.TryEnter(request.Tenant);
            if (tenantSlot is null)
            {
                await DeferForTenantAsync(request, claim, cancellationToken);
                finished = true;
                return;
            }

            // A resumed run keeps the order its first run was routed in, so its stored step index means the same step.
            var routed = claim.Start.Route is { } decision ? router.Restore(request, decision) : null;
            routed ??= router.Route(request);
            var steps = routed.Steps;
            var start = claim.Start.StepIndex < steps.Count ? claim.Start : ChainStart.Beginning;
            Log.Routed(logger, request.RequestId, routed.Decision.Tier, string.Join(" > ", routed.Decision.Candidates), routed.Decision.Reason);
            metrics.Routed(routed.Decision.Tier, routed.Decision.Candidates.FirstOrDefault() ?? "none");
            if (!start.IsBeginning || start.PriorCalls > 0)
            {
                Log.Resuming(logger, request.RequestId, start.StepIndex, start.Attempt, start.PriorCalls);
            }

            // A fresh cached answer, for a request that starts its chain (a resumed one has paid for calls already).
            var hit = start.IsBeginning && start.PriorCalls == 0 && lastResort is not null
                ? await lastResort.FreshAsync(request, chain, cancellationToken)
                : null;
            var outcome = (hit is not null ? lastResort!.HitOutcome(hit) : await runner.RunAsync(request, steps, start, cancellationToken))
                with { Route = routed.Decision };
            var degraded = await DegradedAsync(request, chain, outcome, cancellationToken);
            if (degraded is not null)
            {
                outcome = lastResort!.DegradedOutcome(outcome, degraded) with { Route = routed.Decision };
            }

            if (outcome.Deferral is { } deferral)
            {
                // The wait is long: the message is acknowledged and the deferred_requests row brings the request back.
                if (await audit.DeferAsync(request, claim, outcome, cancellationToken))
                {
                    Log.Deferred(logger, request.RequestId, deferral.Kind, deferral.ResumeAt, deferral.StepIndex, deferral.Attempt, deferral.Reason);
                    await DelayNotices.TryPublishAsync(context,
                        DelayNotices.Build(request, outcome, deferral, claim.ReplayCount, time.GetUtcNow()), logger);
                }
                else
                {
                    Log.ClaimLost(logger, request.RequestId);
                }

                finished = true;
                return;
            }

            var completedAt = time.GetUtcNow();
            var lineage = OutcomeLineage.Of(request.RequestId, claim.ReplayCount, claim.StoredResult);
            RequestResult result;
            if (hit is not null)
            {
                result = Results.FromCache(request, outcome, hit.AgeSeconds, completedAt, lineage);
            }
            else if (outcome.Succeeded)
            {
                result = Results.Succeeded(request, outcome, completedAt, lineage);
            }
            else if (degraded is not null)
            {
                Log.RequestFailed(logger, request.RequestId, outcome.FailureReason!, outcome.TotalCalls, true);
                result = Results.Degraded(request, outcome, degraded, completedAt, lineage);
            }
            else
            {
                var park = parking.ShouldPark(outcome.FailureReason!);
                Log.RequestFailed(logger, request.RequestId, outcome.FailureReason!, outcome.TotalCalls, park);
                result = Results.Failed(request, outcome.FailureReason!, outcome.Error!, outcome.TotalCalls, completedAt, park, lineage, outcome);
            }

            var published = await audit.CompleteAsync(request, claim, outcome, completedAt, result, cancellationToken);
            finished = true;
            if (ReferenceEquals(published, result) && WorkerMetrics.DeadlineRejection(outcome) is { } rejection)
            {
                // Counted once, by the delivery whose outcome was stored (a rival that stored first has counted its own).
                metrics.DeadlineRejected(request.Chain ?? ChainsOptions.DefaultChain, rejection);
            }

            if (context.CancellationToken.IsCancellationRequested)
            {
                // The broker connection dropped while the chain ran: this delivery can be neither published from nor
                // acknowledged, and the broker hands the message out again. The outcome is stored, so that delivery
                // re-publishes it; nothing goes to the error queue and no provider is called again.
                Log.TransportLost(logger, request.RequestId);
                return;
            }

            await Results.PublishAsync(context, published);
            if (hit is null && outcome.Succeeded && lastResort is not null)
            {
                // After the publish: the producer does not wait for the cache, only this message's acknowledgement does.
                await lastResort.RememberAsync(request, chain, outcome, cancellationToken);
            }
        }
        catch (Exception e) when (!finished)
        {
            // Shutdown, or a failure on the way to the error queue: a redelivery may run it at once, not after the lease.
            Log.StoppedUnfinished(logger, request.RequestId, e.GetType().Name);
            await audit.ReleaseAsync(request.RequestId, claim.Token);
            throw;
        }
    }

    /// <summary>
    /// The request's tenant has all its places taken: rather than hold a consumer slot while it waits, store it (through
    /// the deferral machinery, at the position it would have started from, with its stored route, no call made) to look
    /// again after TenantLimits:RetryAfter. No CompletionDelayed: the wait is a second or two and repeats while the
    /// tenant's burst drains, so a notice each time would flood the backend; the wait does not count toward
    /// Chain:MaxDeferral (the deferral clock is left as it was).
    /// </summary>
    private async Task DeferForTenantAsync(CompletionRequested request, RequestClaim claim, CancellationToken cancellationToken)
    {
        var start = claim.Start;
        var limit = tenants.ShareOf(request.Tenant);
        var resumeAt = tenants.RetryAt();
        var reason = $"tenant '{request.Tenant}' has {tenants.Running(request.Tenant!)} request(s) running, its share of TenantLimits here is {limit}";
        var outcome = new ChainOutcome(null, null, null, null, [])
        {
            PriorCalls = start.PriorCalls,
            PriorCostUsd = start.PriorCostUsd,
            Route = start.Route,
            Deferral = new ChainDeferral(resumeAt, start.StepIndex, start.Attempt, DeferralKinds.TenantLimit, reason, start.DeferralStartedAt),
        };
        if (await audit.DeferAsync(request, claim, outcome, cancellationToken))
        {
            metrics.TenantLimited();
            Log.TenantLimited(logger, request.RequestId, resumeAt, reason);
        }
        else
        {
            Log.ClaimLost(logger, request.RequestId);
        }
    }

    /// <summary>
    /// The answer of last resort for a run no provider answered, or null: only when the failure would be parked (a failure
    /// with <c>providers_exhausted</c>, or, for a request that allows a degraded answer, a deferral because every provider is
    /// down: a chat user should not wait out Chain:MaxDeferral in silence).
    /// </summary>
    private async Task<DegradedAnswer?> DegradedAsync(CompletionRequested request, string chain, ChainOutcome outcome, CancellationToken cancellationToken)
    {
        if (lastResort is null || !parking.ShouldPark(FailureReasons.ProvidersExhausted))
            return null;
        var noProvider = outcome.FailureReason == FailureReasons.ProvidersExhausted
            || (outcome.Deferral is { Kind: DeferralKinds.Unavailable } && request.AllowDegraded);
        return noProvider ? await lastResort.DegradedAsync(request, chain, cancellationToken) : null;
    }

    /// <summary>
    /// When the producer sent the message: the earlier of MassTransit's <c>sentTime</c> and the AMQP <c>timestamp</c> property
    /// (seconds) a raw producer may set, since a plain-JSON message's sent time is not the producer's; null when neither is there.
    /// </summary>
    internal static DateTimeOffset? SentAt(ConsumeContext context)
    {
        DateTimeOffset? envelope = context.SentTime is { } sent ? new DateTimeOffset(DateTime.SpecifyKind(sent, DateTimeKind.Utc)) : null;
        DateTimeOffset? amqp = context.TryGetPayload<RabbitMqBasicConsumeContext>(out var delivery) && delivery.Properties.IsTimestampPresent()
            ? DateTimeOffset.FromUnixTimeSeconds(delivery.Properties.Timestamp.UnixTime)
            : null;
        return envelope is { } e && amqp is { } a ? (e < a ? e : a) : envelope ?? amqp;
    }

    /// <summary>
    /// Answers a sheddable request <c>shed</c> without a call: stored like any outcome (one row, its result kept for
    /// redeliveries), never parked, then published.
    /// </summary>
    private async Task ShedAsync(ConsumeContext<CompletionRequested> context, CompletionRequested request, RequestClaim claim, ShedDecision shed,
        CancellationToken cancellationToken)
    {
        using var lease = leases.Hold(request.RequestId, claim.Token);
        var outcome = new ChainOutcome(null, null, FailureReasons.Shed, shed.Error, []);
        var completedAt = time.GetUtcNow();
        var result = Results.Failed(request, FailureReasons.Shed, shed.Error, 0, completedAt, deadLettered: false,
            OutcomeLineage.Of(request.RequestId, claim.ReplayCount, claim.StoredResult), outcome);
        RequestResult published;
        try
        {
            published = await audit.CompleteAsync(request, claim, outcome, completedAt, result, cancellationToken);
        }
        catch (Exception e)
        {
            Log.StoppedUnfinished(logger, request.RequestId, e.GetType().Name);
            await audit.ReleaseAsync(request.RequestId, claim.Token);
            throw;
        }

        Log.Shed(logger, request.RequestId, shed.Trigger, shed.Error);
        metrics.Shed(shed.Trigger);
        if (context.CancellationToken.IsCancellationRequested)
        {
            Log.TransportLost(logger, request.RequestId);
            return;
        }

        await Results.PublishAsync(context, published);
    }

    /// <summary>
    /// The token the chain and the audit writes run under. MassTransit cancels a consume token in two cases: at shutdown,
    /// after Messaging:StopTimeout (then the run stops and the message is requeued), and when the broker connection
    /// drops. In the second case the message is redelivered whatever happens here, so the run goes on: the provider
    /// call already paid for is not thrown away, the outcome is stored, and the redelivery publishes it instead of
    /// paying again. If the host stops meanwhile, the run still gets the stop timeout.
    /// </summary>
    private RunScope RunToken(CancellationToken consume) => new(consume, lifetime.ApplicationStopping, messaging.Value.StopTimeout);
}
