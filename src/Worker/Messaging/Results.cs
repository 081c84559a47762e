using System.Security.Cryptography;
using MassTransit;
using Worker.Chain;
using Worker.Contracts;
using Worker.LastResort;
using Worker.Requests;

namespace Worker.Messaging;

/// <summary>Builds and publishes the one result message each outcome of a request gets.</summary>
public static class Results
{
    public static CompletionSucceeded Succeeded(CompletionRequested request, ChainOutcome outcome, DateTimeOffset now,
        OutcomeLineage lineage = default) =>
        new(request.RequestId, request.ConversationId, outcome.Answer!.Text, outcome.AnsweredBy!.Provider, outcome.AnsweredBy.Model,
            outcome.FallbackUsed, outcome.TotalCalls, outcome.Answer.InputTokens, outcome.Answer.OutputTokens, request.Metadata, now,
            lineage.ReplayCount, lineage.Supersedes, outcome.Route, (double)outcome.TotalCostUsd, ResultSources.Provider,
            ToolCalls: outcome.Answer.ToolCalls, FinishReason: outcome.Answer.Finish, Json: outcome.Answer.Json);

    /// <summary>A fresh cache hit: the cached text and who gave it, its age; no call, no cost.</summary>
    public static CompletionSucceeded FromCache(CompletionRequested request, ChainOutcome outcome, double ageSeconds, DateTimeOffset now,
        OutcomeLineage lineage = default) =>
        Succeeded(request, outcome, now, lineage) with { Source = ResultSources.Cache, CacheAgeSeconds = Math.Round(ageSeconds, 3), CostUsd = 0, FinishReason = null,
            Json = Structured.OutputCheck.JsonOf(request, outcome.Answer!.Text) };

    /// <summary>
    /// An answer of last resort (a stale cached answer, or the template) for a run no provider answered: degraded, with the
    /// calls the run made and what they cost. The request is parked with it (<see cref="RequestResult.IsParked"/>).
    /// </summary>
    public static CompletionSucceeded Degraded(CompletionRequested request, ChainOutcome outcome, DegradedAnswer answer, DateTimeOffset now,
        OutcomeLineage lineage = default) =>
        new(request.RequestId, request.ConversationId, answer.Text, answer.Provider, answer.Model, FallbackUsed: false, outcome.TotalCalls,
            answer.InputTokens, answer.OutputTokens, request.Metadata, now, lineage.ReplayCount, lineage.Supersedes, outcome.Route,
            (double)outcome.TotalCostUsd, answer.Source, answer.AgeSeconds is { } age ? Math.Round(age, 3) : null, Degraded: true,
            Json: Structured.OutputCheck.JsonOf(request, answer.Text));

    /// <param name="deadLettered">The request was parked for ops replay (DeadLetters:ParkReasons).</param>
    /// <param name="outcome">The chain's outcome, for its route and cost; null for a request refused before routing.</param>
    public static CompletionFailed Failed(CompletionRequested request, string reason, string error, int attempts, DateTimeOffset now,
        bool deadLettered = false, OutcomeLineage lineage = default, ChainOutcome? outcome = null) =>
        new(request.RequestId, request.ConversationId, reason, error, attempts, deadLettered, request.Metadata, now,
            lineage.ReplayCount, lineage.Supersedes, outcome?.Route, outcome is null ? null : (double)outcome.TotalCostUsd);

    /// <summary>
    /// Publishes with the mandatory flag: if no queue is bound to the result's exchange yet, RabbitMQ returns the
    /// message and the publish throws, instead of confirming and silently dropping it. The request message is then
    /// not acknowledged as done. The message id is derived from the request id and the outcome's replay count, so
    /// consumers can drop duplicates of one outcome and still receive the newer outcome a replay produces.
    /// </summary>
    /// <param name="messageId">Only for a refusal that is not the request's result (<see cref="RefusalMessageId"/>).</param>
    public static Task PublishAsync(ConsumeContext context, RequestResult result, Guid? messageId = null) => result.Match(
        s => PublishAsync(context, s, messageId ?? RequestResult.MessageId(s.RequestId, s.ReplayCount)),
        f => PublishAsync(context, f, messageId ?? RequestResult.MessageId(f.RequestId, f.ReplayCount)));

    private static Task PublishAsync<T>(ConsumeContext context, T result, Guid messageId) where T : class =>
        context.Publish(result, publish =>
        {
            publish.Mandatory = true;
            publish.MessageId = messageId;
        }, context.CancellationToken);

    /// <summary>
    /// The refusal of one delivery that reused a request id for another payload. It must not carry the request's result
    /// id: a consumer dropping duplicates by message id would otherwise drop the real result, or this refusal. Derived
    /// from the request id and the refused payload's hash, so the same refused delivery always gets the same id.
    /// </summary>
    public static Guid RefusalMessageId(Guid requestId, string payloadHash)
    {
        Span<byte> input = stackalloc byte[16 + 8 + 64];
        requestId.TryWriteBytes(input);
        "refusal:"u8.CopyTo(input[16..]);
        var written = System.Text.Encoding.ASCII.GetBytes(payloadHash.AsSpan(0, Math.Min(64, payloadHash.Length)), input[24..]);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(input[..(24 + written)], hash);
        return new Guid(hash[..16]);
    }

    /// <summary>The refusal of a delivery whose request id belongs to a request with another payload.</summary>
    public static CompletionFailed Conflict(CompletionRequested request, DateTimeOffset now) =>
        Failed(request, FailureReasons.InvalidRequest,
            $"requestId {request.RequestId} was already used for a different request (messages, chain, generation parameters, tools or response format differ); " +
            "this delivery is refused and the stored request is left as it is. Use a new requestId for a new request.", 0, now);
}
