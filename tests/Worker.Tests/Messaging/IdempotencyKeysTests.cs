using Worker.Contracts;
using Worker.Messaging;
using Worker.Requests;

namespace Worker.Tests.Messaging;

/// <summary>The payload hash that recognises a reused request id, and the message ids results and refusals carry.</summary>
public class IdempotencyKeysTests
{
    private static readonly CompletionRequested Request = new(Guid.NewGuid(), "lead-1",
        [new ChatMessage("system", "Be brief."), new ChatMessage("user", "Hello")], null, 200, 0.4,
        new DateTimeOffset(2026, 11, 21, 12, 0, 0, TimeSpan.Zero), new Dictionary<string, string> { ["crm"] = "hubspot" });

    [Fact]
    public void Payload_hash_ignores_what_a_producer_may_refresh_on_a_retry()
    {
        var hash = PayloadHash.Of(Request);

        Assert.Equal(hash, PayloadHash.Of(Request with { Deadline = null, Metadata = null, ConversationId = "other" }));
        Assert.Equal(hash, PayloadHash.Of(Request with { Chain = "DEFAULT" }));
        Assert.Equal(hash, PayloadHash.Of(Request with { Chain = "default" }));
        // When and whether to run it, not what to run: a retry may raise the priority or stop allowing a shed.
        Assert.Equal(hash, PayloadHash.Of(Request with { Priority = 9, Sheddable = true }));
        Assert.Matches("^[0-9a-f]{64}$", hash);
    }

    [Fact]
    public void Payload_hash_changes_with_the_payload()
    {
        var hash = PayloadHash.Of(Request);

        Assert.NotEqual(hash, PayloadHash.Of(Request with { Messages = [new ChatMessage("user", "Hello!")] }));
        Assert.NotEqual(hash, PayloadHash.Of(Request with { Messages = [new ChatMessage("user", "Be brief."), new ChatMessage("user", "Hello")] }));
        Assert.NotEqual(hash, PayloadHash.Of(Request with { Chain = "openai-only" }));
        Assert.NotEqual(hash, PayloadHash.Of(Request with { MaxOutputTokens = 201 }));
        Assert.NotEqual(hash, PayloadHash.Of(Request with { MaxOutputTokens = null }));
        Assert.NotEqual(hash, PayloadHash.Of(Request with { Temperature = 0.41 }));
    }

    [Fact]
    public void Cache_hints_and_allow_degraded_count_only_when_present_so_older_requests_hash_as_before()
    {
        var hash = PayloadHash.Of(Request);

        Assert.Equal(hash, PayloadHash.Of(Request with { Cache = null, AllowDegraded = false }));
        Assert.NotEqual(hash, PayloadHash.Of(Request with { Cache = new CacheHints(Use: false) }));
        Assert.NotEqual(PayloadHash.Of(Request with { Cache = new CacheHints(MaxAgeSeconds: 10) }), PayloadHash.Of(Request with { Cache = new CacheHints(MaxAgeSeconds: 20) }));
        Assert.NotEqual(hash, PayloadHash.Of(Request with { AllowDegraded = true }));
    }

    [Fact]
    public void Payload_hash_of_an_unreadable_request_does_not_throw()
    {
        Assert.Matches("^[0-9a-f]{64}$", PayloadHash.Of(new CompletionRequested(Guid.Empty, null, null!)));
        Assert.Matches("^[0-9a-f]{64}$", PayloadHash.Of(Request with { Messages = [null!], Temperature = double.NaN }));
    }

    [Fact]
    public void A_refusal_never_carries_the_request_result_message_id()
    {
        var refusal = Results.RefusalMessageId(Request.RequestId, PayloadHash.Of(Request));

        Assert.NotEqual(RequestResult.MessageId(Request.RequestId), refusal);
        Assert.Equal(refusal, Results.RefusalMessageId(Request.RequestId, PayloadHash.Of(Request)));
        Assert.NotEqual(refusal, Results.RefusalMessageId(Request.RequestId, PayloadHash.Of(Request with { Temperature = 1 })));
    }

    [Fact]
    public void Each_outcome_of_a_request_gets_its_own_stable_message_id()
    {
        var first = RequestResult.MessageId(Request.RequestId);
        var firstReplay = RequestResult.MessageId(Request.RequestId, 1);

        Assert.Equal(first, RequestResult.MessageId(Request.RequestId, 0));
        Assert.Equal(firstReplay, RequestResult.MessageId(Request.RequestId, 1));
        Assert.NotEqual(first, firstReplay);
        Assert.NotEqual(firstReplay, RequestResult.MessageId(Request.RequestId, 2));
        Assert.NotEqual(first, RequestResult.MessageId(Guid.NewGuid()));
    }

    [Fact]
    public void A_replay_outcome_names_the_outcome_it_supersedes()
    {
        Assert.Equal(OutcomeLineage.First, OutcomeLineage.Of(Request.RequestId, 0, """{"reason":"providers_exhausted"}"""));

        var afterParkedFailure = OutcomeLineage.Of(Request.RequestId, 1, """{"reason":"providers_exhausted","deadLettered":true}""");
        Assert.Equal(new OutcomeLineage(1, RequestResult.MessageId(Request.RequestId)), afterParkedFailure);

        // Replays of a finished request add to the count without producing an outcome: the superseded one is the stored one.
        var afterSecondPark = OutcomeLineage.Of(Request.RequestId, 3, """{"reason":"providers_exhausted","replayCount":1}""");
        Assert.Equal(new OutcomeLineage(3, RequestResult.MessageId(Request.RequestId, 1)), afterSecondPark);
    }
}
