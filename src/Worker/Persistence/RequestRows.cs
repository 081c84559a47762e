namespace Worker.Persistence;

/// <summary>The lifecycle of a request row. Stored as the lower-case name.</summary>
public static class RequestStatus
{
    public const string Received = "received";
    public const string InProgress = "in_progress";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Parked = "parked";
    public const string Replayed = "replayed";

    /// <summary>Waiting durably (a long Retry-After, every provider down) to resume where it stopped: see deferred_requests.</summary>
    public const string Deferred = "deferred";

    /// <summary>
    /// Terminal: the request has its outcome and its result is stored. A parked request is terminal as well: only an ops
    /// replay (which marks it <see cref="Replayed"/>) may run it again.
    /// </summary>
    public static bool IsTerminal(string status) => status is Succeeded or Failed or Parked;
}

/// <summary>One row per request (table <c>requests</c>); the request id is the idempotency key.</summary>
public sealed class RequestRow
{
    public Guid RequestId { get; set; }

    public string? ConversationId { get; set; }

    public string Chain { get; set; } = "default";

    public string Status { get; set; } = RequestStatus.Received;

    public DateTimeOffset ReceivedAt { get; set; }

    public DateTimeOffset? FirstAttemptAt { get; set; }

    public DateTimeOffset? CompletedAt { get; set; }

    /// <summary>The provider and model that answered (or the last one tried, on failure).</summary>
    public string? Provider { get; set; }

    public string? Model { get; set; }

    public bool FallbackUsed { get; set; }

    /// <summary>Provider calls made for this request, across all deliveries and replays.</summary>
    public int AttemptCount { get; set; }

    public int? InputTokens { get; set; }

    public int? OutputTokens { get; set; }

    /// <summary>From the configured price table; null when the model has no price.</summary>
    public decimal? EstimatedCostUsd { get; set; }

    /// <summary>The tenant named by the request, whose daily budget applies.</summary>
    public string? Tenant { get; set; }

    /// <summary>The routing decision (tier, candidate order, reason) as jsonb: the RouteDecision the result carries.</summary>
    public string? Route { get; set; }

    /// <summary>A FailureReasons code when the request failed.</summary>
    public string? FailureReason { get; set; }

    public string? Error { get; set; }

    /// <summary>The producer's metadata, as jsonb.</summary>
    public Dictionary<string, string>? Metadata { get; set; }

    public int ReplayCount { get; set; }

    /// <summary>SHA-256 (hex) of the prompt, under every storage policy but "none".</summary>
    public string? PromptHash { get; set; }

    /// <summary>The prompt as JSON, only under the "full" storage policy.</summary>
    public string? Prompt { get; set; }

    public string? ResponseHash { get; set; }

    public string? Response { get; set; }

    /// <summary>The result message as published (JSON), once the request is terminal. Holds the answer text (PII).</summary>
    public string? Result { get; set; }

    /// <summary>
    /// SHA-256 (hex) of the canonical request payload (messages, chain, maxOutputTokens, temperature), whatever the
    /// storage policy: a delivery with the same request id and another payload is refused, never run over this row.
    /// </summary>
    public string? PayloadHash { get; set; }

    /// <summary>The instance running the request now (ProviderHealth:InstanceName), while it holds the claim.</summary>
    public string? ClaimedBy { get; set; }

    /// <summary>The delivery holding the claim: only it renews the lease or writes the outcome as the owner.</summary>
    public Guid? ClaimToken { get; set; }

    /// <summary>Until when the claim holds; renewed while the chain runs. A crashed instance's claim lapses here.</summary>
    public DateTimeOffset? LeaseUntil { get; set; }

    /// <summary>
    /// The W3C traceparent of the delivery that first claimed the request (when it was traced): a deferral's release
    /// continues that trace and a replay links to it.
    /// </summary>
    public string? TraceParent { get; set; }

    public List<AttemptRow> Attempts { get; set; } = [];
}

/// <summary>One row per provider call, or per step skipped without one (table <c>attempts</c>).</summary>
public sealed class AttemptRow
{
    public long Id { get; set; }

    public Guid RequestId { get; set; }

    /// <summary>0 for the chain's first step.</summary>
    public int StepIndex { get; set; }

    public string Provider { get; set; } = "";

    public string Model { get; set; } = "";

    /// <summary>1-based per step; 0 for a skipped step.</summary>
    public int Attempt { get; set; }

    public DateTimeOffset StartedAt { get; set; }

    public DateTimeOffset EndedAt { get; set; }

    public int LatencyMs { get; set; }

    /// <summary>False when the step was skipped (deadline, breaker open) and no call was made.</summary>
    public bool CallMade { get; set; }

    /// <summary>ok, error or skipped.</summary>
    public string Outcome { get; set; } = "";

    /// <summary>The error class wire name (server, rate_limit, ...), null on success.</summary>
    public string? ErrorClass { get; set; }

    public int? HttpStatus { get; set; }

    public int? RetryAfterMs { get; set; }

    /// <summary>answered, retried, fell_back, gave_up or skipped.</summary>
    public string Decision { get; set; } = "";

    /// <summary>The wait before the next call, when the decision was retried.</summary>
    public int? WaitMs { get; set; }

    /// <summary>Why the decision was taken.</summary>
    public string? Note { get; set; }

    /// <summary>The provider's failure as safe text (never a key).</summary>
    public string? Detail { get; set; }

    public int? InputTokens { get; set; }

    public int? OutputTokens { get; set; }

    public decimal? CostUsd { get; set; }
}

/// <summary>The <c>attempts.outcome</c> values.</summary>
public static class AttemptOutcome
{
    public const string Ok = "ok";
    public const string Error = "error";
    public const string Skipped = "skipped";
}
