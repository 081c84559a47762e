using MassTransit;
using Microsoft.Extensions.Options;
using Worker.Audit;
using Worker.Chain;
using Worker.Contracts;
using Worker.DeadLetters;

namespace Worker.Messaging;

/// <summary>
/// Runs one request through its chain and publishes exactly one result. Retries live in the chain only:
/// this endpoint has no MassTransit retry, so a provider is never paid more often than the chain says.
/// </summary>
/// <remarks>
/// The audit trail brackets the chain: an <c>in_progress</c> row before the first call, then the outcome and every
/// attempt committed before the result is published and the message acknowledged. Both writes wait out a PostgreSQL
/// outage (Audit:WriteRetryFor) with the outcome kept in memory; past that bound the consumer throws, the message is
/// not acknowledged and MassTransit moves it to the <c>_error</c> queue.
/// <para>
/// A request whose row is already terminal (a redelivery, a producer's retry, an ops replay of a request that has since
/// finished) gets its stored result re-published, with no provider call. A failure whose reason is in
/// DeadLetters:ParkReasons parks the request (<c>deadLettered: true</c>) for ops replay.
/// </para>
/// </remarks>
public sealed class CompletionRequestedConsumer(
    ChainCatalog chains,
    ChainRunner runner,
    AuditTrail audit,
    IOptions<RequestLimits> limits,
    ParkingPolicy parking,
    TimeProvider time,
    ILogger<CompletionRequestedConsumer> logger) : IConsumer<CompletionRequested>
{
    public async Task Consume(ConsumeContext<CompletionRequested> context)
    {
        var request = context.Message;
        var cancellationToken = context.CancellationToken;
        var receivedAt = time.GetUtcNow();
        var invalid = RequestValidator.Validate(request, chains, limits.Value);
        if (invalid is not null)
        {
            Log.InvalidRequest(logger, request.RequestId, invalid);
            var rejected = Results.Failed(request, FailureReasons.InvalidRequest, invalid, 0, time.GetUtcNow());
            await audit.RejectAsync(request, invalid, receivedAt, rejected.FailedAt, rejected, cancellationToken);
            await Results.PublishAsync(context, rejected);
            return;
        }

        chains.TryGet(request.Chain, out var steps);
        var start = await audit.StartAsync(request, cancellationToken);
        if (start.AlreadyCompleted)
        {
            if (StoredJson.ReadResult(start.Status, start.StoredResult) is { } stored)
            {
                Log.RepublishingStoredResult(logger, request.RequestId, start.Status);
                await Results.PublishAsync(context, stored);
                return;
            }

            // Finished before results were stored (an older schema): nothing to re-publish, so run it again.
            Log.NoStoredResult(logger, request.RequestId, start.Status);
        }

        var outcome = await runner.RunAsync(request, steps, cancellationToken);
        var completedAt = time.GetUtcNow();
        object result;
        if (outcome.Succeeded)
        {
            result = Results.Succeeded(request, outcome, completedAt);
        }
        else
        {
            var park = parking.ShouldPark(outcome.FailureReason!);
            Log.RequestFailed(logger, request.RequestId, outcome.FailureReason!, outcome.CallCount, park);
            result = Results.Failed(request, outcome.FailureReason!, outcome.Error!, outcome.CallCount, completedAt, deadLettered: park);
        }

        await audit.CompleteAsync(request, start, outcome, completedAt, result, cancellationToken);
        await Results.PublishAsync(context, result);
    }
}
