using MassTransit;
using Microsoft.Extensions.Options;
using Worker.Audit;
using Worker.Chain;
using Worker.Contracts;

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
/// </remarks>
public sealed class CompletionRequestedConsumer(
    ChainCatalog chains,
    ChainRunner runner,
    AuditTrail audit,
    IOptions<RequestLimits> limits,
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
            await audit.RejectAsync(request, invalid, receivedAt, rejected.FailedAt, cancellationToken);
            await Results.PublishAsync(context, rejected);
            return;
        }

        chains.TryGet(request.Chain, out var steps);
        var start = await audit.StartAsync(request, cancellationToken);
        var outcome = await runner.RunAsync(request, steps, cancellationToken);
        var completedAt = time.GetUtcNow();
        await audit.CompleteAsync(request, start, outcome, completedAt, cancellationToken);

        if (outcome.Succeeded)
        {
            await Results.PublishAsync(context, Results.Succeeded(request, outcome, completedAt));
        }
        else
        {
            Log.RequestFailed(logger, request.RequestId, outcome.FailureReason!, outcome.CallCount);
            await Results.PublishAsync(context, Results.Failed(request, outcome.FailureReason!, outcome.Error!, outcome.CallCount, completedAt));
        }
    }
}
