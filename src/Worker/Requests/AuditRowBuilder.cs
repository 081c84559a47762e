using Microsoft.Extensions.Options;
using Worker.Audit;
using Worker.Chain;
using Worker.Contracts;
using Worker.Persistence;
using Worker.Providers;

namespace Worker.Requests;

/// <summary>
/// Turns a request and its chain outcome into audit rows: no I/O, so every mapping rule is unit-tested.
/// Text is cleaned and cut to the column sizes of <see cref="Persistence.AuditDbContext"/>; times are cut to PostgreSQL's microseconds.
/// </summary>
public sealed class AuditRowBuilder(IOptions<AuditOptions> audit, IOptions<RequestLimits> limits, PriceTable prices)
{
    // The varchar sizes of AuditDbContext.
    private const int ConversationIdLength = 256;
    private const int NameLength = 128;
    private const int ReasonLength = 64;

    /// <summary>The row written when processing starts: <c>in_progress</c>, with what is known before any call.</summary>
    public RequestRow Started(CompletionRequested request, DateTimeOffset receivedAt)
    {
        var row = Base(request, receivedAt, storePrompt: true, storeMetadata: true);
        row.Status = RequestStatus.InProgress;
        return row;
    }

    /// <summary>The outcome row with its attempt rows (in <see cref="RequestRow.Attempts"/>), in the chain's order.</summary>
    /// <param name="result">The result to be published, kept in <see cref="RequestRow.Result"/>; a dead-lettered failure makes the row <c>parked</c>.</param>
    /// <remarks><see cref="RequestRow.AttemptCount"/> holds this delivery's calls; the write adds it to earlier deliveries'.</remarks>
    public RequestRow Completed(CompletionRequested request, DateTimeOffset receivedAt, ChainOutcome outcome, DateTimeOffset completedAt,
        RequestResult? result = null)
    {
        var row = Base(request, receivedAt, storePrompt: true, storeMetadata: true);
        row.Attempts = [.. outcome.Attempts.Select(a => Attempt(request.RequestId, a))];
        var calls = outcome.Attempts.Where(a => a.CallMade).ToList();

        row.Status = outcome.Succeeded ? RequestStatus.Succeeded
            : result is { IsParked: true } ? RequestStatus.Parked
            : RequestStatus.Failed;
        row.Result = result is null ? null : StoredJson.Result(result);
        row.FirstAttemptAt = calls.Count > 0 ? Sql.Micro(calls[0].StartedAt) : null;
        row.CompletedAt = Sql.Micro(completedAt);
        // The answering step; on failure the last one called, so "failed on openai" is one column away.
        var (provider, model) = outcome.AnsweredBy is { } step ? (step.Provider, step.Model)
            : calls.Count > 0 ? (calls[^1].Provider, calls[^1].Model)
            : ((string?)null, (string?)null);
        row.Provider = AuditText.Clean(provider, NameLength);
        row.Model = AuditText.Clean(model, NameLength);
        row.FallbackUsed = outcome.FallbackUsed;
        row.AttemptCount = outcome.CallCount;
        row.InputTokens = outcome.Answer?.InputTokens;
        row.OutputTokens = outcome.Answer?.OutputTokens;
        var costs = row.Attempts.Where(a => a.CostUsd is not null).Select(a => a.CostUsd!.Value).ToList();
        row.EstimatedCostUsd = costs.Count > 0 ? costs.Sum() : null;
        row.FailureReason = AuditText.Clean(outcome.FailureReason, ReasonLength);
        row.Route = StoredJson.Route(outcome.Route);
        row.Error = AuditText.Clean(outcome.Error);

        if (outcome.Answer is { } answer && audit.Value.PromptStorage != PromptStorage.None)
        {
            row.ResponseHash = AuditText.Sha256Hex(answer.Text);
            row.Response = audit.Value.PromptStorage == PromptStorage.Full ? AuditText.Clean(answer.Text) : null;
        }

        return row;
    }

    /// <summary>The terminal row of a request the validator refused: failed, <c>invalid_request</c>, no attempt.</summary>
    public RequestRow Rejected(CompletionRequested request, string problem, DateTimeOffset receivedAt, DateTimeOffset completedAt,
        RequestResult? result = null)
    {
        // What made the request invalid may be its size: the prompt text and metadata are kept only within the limits.
        var row = Base(request, receivedAt, storePrompt: PromptFits(request), storeMetadata: MetadataFits(request));
        row.Status = RequestStatus.Failed;
        row.Result = result is null ? null : StoredJson.Result(result);
        row.CompletedAt = Sql.Micro(completedAt);
        row.FailureReason = FailureReasons.InvalidRequest;
        row.Error = AuditText.Clean(problem);
        return row;
    }

    private RequestRow Base(CompletionRequested request, DateTimeOffset receivedAt, bool storePrompt, bool storeMetadata)
    {
        var row = new RequestRow
        {
            RequestId = request.RequestId,
            ConversationId = AuditText.Clean(request.ConversationId, ConversationIdLength),
            Chain = AuditText.Clean(request.Chain ?? ChainsOptions.DefaultChain, NameLength)!,
            ReceivedAt = Sql.Micro(receivedAt),
            Metadata = storeMetadata ? MetadataJson.Clean(request.Metadata) : null,
            Tenant = AuditText.Clean(request.Tenant, NameLength),
            // Whatever the storage policy: it is how a reused request id with another payload is recognised.
            PayloadHash = PayloadHash.Of(request),
        };

        if (audit.Value.PromptStorage != PromptStorage.None && AuditText.PromptJson(request.Messages) is { } prompt)
        {
            row.PromptHash = AuditText.Sha256Hex(prompt);
            row.Prompt = audit.Value.PromptStorage == PromptStorage.Full && storePrompt ? prompt : null;
        }

        return row;
    }

    private AttemptRow Attempt(Guid requestId, AttemptRecord a)
    {
        var outcome = !a.CallMade ? AttemptOutcome.Skipped : a.ErrorClass is null ? AttemptOutcome.Ok : AttemptOutcome.Error;
        return new AttemptRow
        {
            RequestId = requestId,
            StepIndex = a.StepIndex,
            Provider = AuditText.Clean(a.Provider, NameLength)!,
            Model = AuditText.Clean(a.Model, NameLength)!,
            Attempt = a.Attempt,
            StartedAt = Sql.Micro(a.StartedAt),
            EndedAt = Sql.Micro(a.EndedAt),
            LatencyMs = Milliseconds(a.Latency),
            CallMade = a.CallMade,
            Outcome = outcome,
            ErrorClass = a.ErrorClass?.ToWireName(),
            HttpStatus = a.HttpStatus,
            RetryAfterMs = a.RetryAfter is { } retryAfter ? Milliseconds(retryAfter) : null,
            Decision = a.Decision.ToWireName(),
            WaitMs = a.Wait is { } wait ? Milliseconds(wait) : null,
            Note = AuditText.Clean(a.Note),
            Detail = AuditText.Clean(a.Detail),
            InputTokens = a.InputTokens,
            OutputTokens = a.OutputTokens,
            // Failed calls report no tokens, so they cost nothing we can estimate.
            CostUsd = outcome == AttemptOutcome.Ok ? prices.CostOf(a.Model, a.InputTokens, a.OutputTokens) : null,
        };
    }

    private bool PromptFits(CompletionRequested request) =>
        request.Messages is { } messages && messages.Count <= limits.Value.MaxMessages &&
        messages.Sum(m => (long)(m?.Content?.Length ?? 0)) <= limits.Value.MaxPromptChars;

    private bool MetadataFits(CompletionRequested request) =>
        request.Metadata is not { } metadata || metadata.Count <= limits.Value.MaxMetadataEntries &&
        metadata.Sum(kv => (long)(kv.Key?.Length ?? 0) + (kv.Value?.Length ?? 0)) <= limits.Value.MaxMetadataChars;

    private static int Milliseconds(TimeSpan span) => (int)Math.Clamp(Math.Round(span.TotalMilliseconds), 0, int.MaxValue);
}
