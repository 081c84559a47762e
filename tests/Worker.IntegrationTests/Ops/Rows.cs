using Worker.Audit;
using Worker.Persistence;
using Worker.Providers;

namespace Worker.IntegrationTests.Ops;

/// <summary>Audit rows for seeding, with the fields a test does not care about filled in plausibly.</summary>
internal static class Rows
{
    public static RequestRow Request(string status, DateTimeOffset receivedAt, DateTimeOffset? completedAt, string? provider = null, string? model = null,
        bool fallbackUsed = false, params AttemptRow[] attempts) => new()
    {
        RequestId = Guid.NewGuid(),
        ConversationId = "conv-ops",
        Status = status,
        ReceivedAt = receivedAt,
        FirstAttemptAt = attempts.Length > 0 ? attempts.Min(a => a.StartedAt) : null,
        CompletedAt = completedAt,
        Provider = provider,
        Model = model,
        FallbackUsed = fallbackUsed,
        AttemptCount = attempts.Count(a => a.CallMade),
        Attempts = [.. attempts],
    };

    /// <summary>A provider call at <paramref name="startedAt"/> lasting <paramref name="latencyMs"/>; <paramref name="errorClass"/> null means it answered.</summary>
    public static AttemptRow Call(int step, string provider, string model, int attempt, DateTimeOffset startedAt, int latencyMs,
        string? errorClass = null, string? decision = null, int? inputTokens = null, int? outputTokens = null, decimal? costUsd = null) => new()
    {
        StepIndex = step,
        Provider = provider,
        Model = model,
        Attempt = attempt,
        StartedAt = startedAt,
        EndedAt = startedAt.AddMilliseconds(latencyMs),
        LatencyMs = latencyMs,
        CallMade = true,
        Outcome = errorClass is null ? "ok" : "error",
        ErrorClass = errorClass,
        Decision = decision ?? (errorClass is null ? "answered" : "fell_back"),
        InputTokens = inputTokens,
        OutputTokens = outputTokens,
        CostUsd = costUsd,
    };

    /// <summary>A step skipped without a call (breaker open, deadline).</summary>
    public static AttemptRow Skipped(int step, string provider, string model, DateTimeOffset at, string note) => new()
    {
        StepIndex = step,
        Provider = provider,
        Model = model,
        Attempt = 0,
        StartedAt = at,
        EndedAt = at,
        CallMade = false,
        Outcome = "skipped",
        Decision = "skipped",
        Note = note,
    };
}
