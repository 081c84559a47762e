using Microsoft.Extensions.Options;
using Worker.Audit;
using Worker.Chain;
using Worker.Contracts;
using Worker.Persistence;
using Worker.Providers;
using Worker.Requests;

namespace Worker.Tests.Requests;

public class AuditRowBuilderTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);

    private static readonly ChainStep Gemini = Step(0, "gemini", "gemini-2.5-pro");
    private static readonly ChainStep OpenAI = Step(1, "openai", "o3-mini");

    private static ChainStep Step(int index, string provider, string model) =>
        new(index, provider, model, 2, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(20), 0.2, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30));

    private static AuditRowBuilder Builder(PromptStorage storage = PromptStorage.HashOnly) =>
        new(Options.Create(new AuditOptions { PromptStorage = storage }), Options.Create(new RequestLimits()), Audit.PriceTableTests.Prices());

    private static CompletionRequested Request(string? conversationId = "conv-1") =>
        new(Guid.NewGuid(), conversationId, [new ChatMessage("system", "Be brief."), new ChatMessage("user", "Hi")],
            Metadata: new Dictionary<string, string> { ["tenant"] = "acme" });

    private static AttemptRecord Failed(ChainStep step, int attempt, double startSeconds, Decision decision, TimeSpan? wait = null) =>
        new(step.Index, step.Provider, step.Model, attempt, T0.AddSeconds(startSeconds), T0.AddSeconds(startSeconds).AddMilliseconds(120),
            CallMade: true, ErrorClass.Server, 503, null, decision, wait, null, null, "HTTP 503: overloaded", "why");

    private static AttemptRecord Answered(ChainStep step, double startSeconds, int input, int output) =>
        new(step.Index, step.Provider, step.Model, 1, T0.AddSeconds(startSeconds), T0.AddSeconds(startSeconds).AddMilliseconds(850.4),
            CallMade: true, null, null, null, Decision.Answered, null, input, output, null, null);

    /// <summary>Gemini 503 three times (two retries, then fallback), then openai answers: the pipeline's canonical fallback.</summary>
    private static ChainOutcome PersistentGemini503() => new(
        new ProviderSuccess("Paris.", "o3-mini", 1000, 500, "stop"), OpenAI, null, null,
        [
            Failed(Gemini, 1, 0, Decision.Retried, TimeSpan.FromSeconds(5)),
            Failed(Gemini, 2, 5.2, Decision.Retried, TimeSpan.FromSeconds(10)),
            Failed(Gemini, 3, 15.4, Decision.FellBack),
            Answered(OpenAI, 15.6, 1000, 500),
        ]);

    [Fact]
    public void Fallback_outcome_maps_every_call_with_its_decision_class_latency_and_cost()
    {
        var request = Request();

        var row = Builder().Completed(request, T0.AddMilliseconds(-3), PersistentGemini503(), T0.AddSeconds(17));

        Assert.Equal(RequestStatus.Succeeded, row.Status);
        Assert.Equal(("openai", "o3-mini"), (row.Provider, row.Model));
        Assert.True(row.FallbackUsed);
        Assert.Equal(4, row.AttemptCount);
        Assert.Equal((1000, 500), (row.InputTokens, row.OutputTokens));
        Assert.Equal(T0, row.FirstAttemptAt);
        Assert.Equal(T0.AddSeconds(17), row.CompletedAt);
        Assert.Null(row.FailureReason);

        Assert.Equal(["retried", "retried", "fell_back", "answered"], row.Attempts.Select(a => a.Decision));
        Assert.Equal(["error", "error", "error", "ok"], row.Attempts.Select(a => a.Outcome));
        Assert.Equal(["server", "server", "server", null], row.Attempts.Select(a => a.ErrorClass));
        Assert.Equal([503, 503, 503, null], row.Attempts.Select(a => a.HttpStatus));
        Assert.Equal([5000, 10_000, null, null], row.Attempts.Select(a => a.WaitMs));
        Assert.Equal([120, 120, 120, 850], row.Attempts.Select(a => a.LatencyMs));
        Assert.Equal([0, 0, 0, 1], row.Attempts.Select(a => a.StepIndex));
        Assert.Equal([1, 2, 3, 1], row.Attempts.Select(a => a.Attempt));
        Assert.All(row.Attempts, a => Assert.Equal(request.RequestId, a.RequestId));
        Assert.All(row.Attempts, a => Assert.True(a.CallMade));
        Assert.Equal("HTTP 503: overloaded", row.Attempts[0].Detail);

        // 1000 x 1.10 / 1M + 500 x 4.40 / 1M; failed calls reported no tokens and cost nothing.
        Assert.Equal([null, null, null, 0.0033m], row.Attempts.Select(a => a.CostUsd));
        Assert.Equal(0.0033m, row.EstimatedCostUsd);
    }

    [Fact]
    public void Exhausted_chain_names_the_last_provider_called_and_the_reason()
    {
        var outcome = new ChainOutcome(null, null, FailureReasons.ProvidersExhausted, "Every step of the chain failed.",
            [Failed(Gemini, 1, 0, Decision.FellBack), Failed(OpenAI, 1, 1, Decision.GaveUp)]);

        var row = Builder().Completed(Request(), T0, outcome, T0.AddSeconds(2));

        Assert.Equal(RequestStatus.Failed, row.Status);
        Assert.Equal(FailureReasons.ProvidersExhausted, row.FailureReason);
        Assert.Equal("Every step of the chain failed.", row.Error);
        Assert.Equal(("openai", "o3-mini"), (row.Provider, row.Model));
        Assert.False(row.FallbackUsed);
        Assert.Equal(2, row.AttemptCount);
        Assert.Null(row.EstimatedCostUsd);
        Assert.Null(row.ResponseHash);
        Assert.Equal(["fell_back", "gave_up"], row.Attempts.Select(a => a.Decision));
    }

    [Fact]
    public void Skipped_step_is_a_row_without_a_call_and_does_not_count_as_an_attempt()
    {
        var skipped = new AttemptRecord(1, "openai", "o3-mini", 0, T0.AddSeconds(1), T0.AddSeconds(1), CallMade: false,
            null, null, null, Decision.Skipped, null, null, null, null, "skipped: deadline");
        var outcome = new ChainOutcome(null, null, FailureReasons.DeadlineExceeded, "The deadline passed.",
            [Failed(Gemini, 1, 0, Decision.FellBack), skipped]);

        var row = Builder().Completed(Request(), T0, outcome, T0.AddSeconds(1));

        Assert.Equal(1, row.AttemptCount);
        Assert.Equal(("gemini", "gemini-2.5-pro"), (row.Provider, row.Model));
        var last = row.Attempts[^1];
        Assert.Equal(("skipped", "skipped", false, 0), (last.Decision, last.Outcome, last.CallMade, last.Attempt));
        Assert.Equal("skipped: deadline", last.Note);
        Assert.Null(last.ErrorClass);
    }

    [Fact]
    public void Deadline_passed_before_any_call_leaves_provider_and_first_attempt_empty()
    {
        var outcome = new ChainOutcome(null, null, FailureReasons.DeadlineExceeded, "The deadline had passed.", []);

        var row = Builder().Completed(Request(), T0, outcome, T0);

        Assert.Equal(0, row.AttemptCount);
        Assert.Null(row.Provider);
        Assert.Null(row.FirstAttemptAt);
        Assert.Empty(row.Attempts);
    }

    [Fact]
    public void Rejected_request_is_failed_with_invalid_request_and_no_attempt()
    {
        var request = Request() with { Chain = "nope" };

        var row = Builder().Rejected(request, "chain 'nope' is not configured", T0, T0.AddMilliseconds(1));

        Assert.Equal(RequestStatus.Failed, row.Status);
        Assert.Equal(FailureReasons.InvalidRequest, row.FailureReason);
        Assert.Equal("chain 'nope' is not configured", row.Error);
        Assert.Equal("nope", row.Chain);
        Assert.Equal(0, row.AttemptCount);
        Assert.Empty(row.Attempts);
        Assert.Equal("acme", row.Metadata!["tenant"]);
    }

    [Fact]
    public void Rejected_request_over_the_limits_keeps_neither_its_prompt_text_nor_its_metadata()
    {
        var huge = new string('x', new RequestLimits().MaxPromptChars + 1);
        var metadata = Enumerable.Range(0, new RequestLimits().MaxMetadataEntries + 1).ToDictionary(i => $"k{i}", i => "v");
        var request = new CompletionRequested(Guid.NewGuid(), null, [new ChatMessage("user", huge)], Metadata: metadata);

        var row = Builder(PromptStorage.Full).Rejected(request, "too big", T0, T0);

        Assert.NotNull(row.PromptHash);
        Assert.Null(row.Prompt);
        Assert.Null(row.Metadata);
    }

    [Fact]
    public void Rejected_request_without_messages_has_no_prompt_hash()
    {
        var request = new CompletionRequested(Guid.Empty, null, null!);

        var row = Builder().Rejected(request, "requestId is missing or empty", T0, T0);

        Assert.Null(row.PromptHash);
        Assert.Equal(ChainsOptions.DefaultChain, row.Chain);
    }

    [Fact]
    public void HashOnly_default_stores_hashes_and_no_text()
    {
        var request = Request();

        var row = Builder().Completed(request, T0, PersistentGemini503(), T0);

        Assert.Equal(AuditText.Sha256Hex("""[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}]"""), row.PromptHash);
        Assert.Equal(AuditText.Sha256Hex("Paris."), row.ResponseHash);
        Assert.Equal(64, row.PromptHash!.Length);
        Assert.Null(row.Prompt);
        Assert.Null(row.Response);
    }

    [Fact]
    public void Full_storage_keeps_the_canonical_prompt_and_the_response()
    {
        var row = Builder(PromptStorage.Full).Completed(Request(), T0, PersistentGemini503(), T0);

        Assert.Equal("""[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}]""", row.Prompt);
        Assert.Equal(AuditText.Sha256Hex(row.Prompt!), row.PromptHash);
        Assert.Equal("Paris.", row.Response);
        Assert.Equal(AuditText.Sha256Hex("Paris."), row.ResponseHash);
    }

    [Fact]
    public void None_storage_keeps_neither_text_nor_hash()
    {
        var started = Builder(PromptStorage.None).Started(Request(), T0);
        var completed = Builder(PromptStorage.None).Completed(Request(), T0, PersistentGemini503(), T0);

        Assert.Null(started.PromptHash);
        Assert.Null(started.Prompt);
        Assert.Null(completed.ResponseHash);
        Assert.Null(completed.Response);
    }

    [Fact]
    public void Started_row_is_in_progress_with_what_is_known_before_any_call()
    {
        var request = Request();

        var row = Builder().Started(request, T0.AddTicks(7));

        Assert.Equal(RequestStatus.InProgress, row.Status);
        Assert.Equal(request.RequestId, row.RequestId);
        Assert.Equal("conv-1", row.ConversationId);
        Assert.Equal(ChainsOptions.DefaultChain, row.Chain);
        // PostgreSQL keeps microseconds; the 7 ticks (700 ns) are dropped so a value read back equals the one written.
        Assert.Equal(T0, row.ReceivedAt);
        Assert.NotNull(row.PromptHash);
        Assert.Null(row.CompletedAt);
    }

    [Fact]
    public void Text_postgres_would_reject_is_cleaned_and_cut_to_the_column()
    {
        var request = Request(conversationId: new string('c', 300)) with
        {
            Metadata = new Dictionary<string, string> { ["k\0"] = "v\0" },
        };

        var row = Builder().Started(request, T0);

        Assert.Equal(256, row.ConversationId!.Length);
        Assert.Equal("v\uFFFD", row.Metadata!["k\uFFFD"]);
    }
}
