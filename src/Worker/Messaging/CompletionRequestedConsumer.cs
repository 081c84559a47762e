using MassTransit;
using Microsoft.Extensions.Options;
using Worker.Chain;
using Worker.Contracts;

namespace Worker.Messaging;

/// <summary>
/// Runs one request through its chain and publishes exactly one result. Retries live in the chain only:
/// this endpoint has no MassTransit retry, so a provider is never paid more often than the chain says.
/// </summary>
public sealed class CompletionRequestedConsumer(
    ChainCatalog chains,
    ChainRunner runner,
    IOptions<RequestLimits> limits,
    TimeProvider time,
    ILogger<CompletionRequestedConsumer> logger) : IConsumer<CompletionRequested>
{
    public async Task Consume(ConsumeContext<CompletionRequested> context)
    {
        var request = context.Message;
        var invalid = RequestValidator.Validate(request, chains, limits.Value);
        if (invalid is not null)
        {
            Log.InvalidRequest(logger, request.RequestId, invalid);
            await Results.PublishAsync(context, Results.Failed(request, FailureReasons.InvalidRequest, invalid, 0, time.GetUtcNow()));
            return;
        }

        chains.TryGet(request.Chain, out var steps);
        var outcome = await runner.RunAsync(request, steps, context.CancellationToken);

        if (outcome.Succeeded)
        {
            await Results.PublishAsync(context, Results.Succeeded(request, outcome, time.GetUtcNow()));
        }
        else
        {
            Log.RequestFailed(logger, request.RequestId, outcome.FailureReason!, outcome.CallCount);
            await Results.PublishAsync(context, Results.Failed(request, outcome.FailureReason!, outcome.Error!, outcome.CallCount, time.GetUtcNow()));
        }
    }
}
