using Microsoft.Extensions.Options;
using Worker.Chain;
using Worker.Contracts;
using Worker.Messaging;
using Worker.Providers;
using Worker.Requests;

namespace Worker.Tests.Messaging;

public class RequestValidatorTests
{
    private static readonly ChainCatalog Chains = new(
        Options.Create(new ChainsOptions { [ChainsOptions.DefaultChain] = [new ChainStepOptions { Provider = "gemini", Model = "gemini-2.5-flash" }] }),
        Options.Create(new ProvidersOptions()));

    private static CompletionRequested Request(string? conversationId) =>
        new(Guid.NewGuid(), conversationId, [new ChatMessage(ChatRoles.User, "Hello")]);

    [Theory]
    [InlineData(null)]
    [InlineData(0)]
    [InlineData(256)]
    public void A_conversation_id_up_to_the_limit_is_accepted(int? length) =>
        Assert.Null(RequestValidator.Validate(Request(length is { } n ? new string('c', n) : null), Chains, new RequestLimits()));

    [Fact]
    public void A_conversation_id_over_the_limit_is_refused_naming_the_field_and_the_limit()
    {
        var problem = RequestValidator.Validate(Request(new string('c', 257)), Chains, new RequestLimits());

        Assert.Equal("conversationId has 257 characters; the limit is 256", problem);
    }

    [Fact]
    public void The_conversation_id_limit_comes_from_the_options()
    {
        var limits = new RequestLimits { MaxConversationIdChars = 8 };

        Assert.Null(RequestValidator.Validate(Request("lead-042"), Chains, limits));
        Assert.Equal("conversationId has 9 characters; the limit is 8", RequestValidator.Validate(Request("lead-0042"), Chains, limits));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(RequestValidator.MaxCacheAgeSeconds + 1)]
    public void A_cache_max_age_out_of_range_is_refused_naming_the_field(int maxAge) =>
        Assert.Equal($"cache.maxAgeSeconds {maxAge} is out of range 0..{RequestValidator.MaxCacheAgeSeconds}",
            RequestValidator.Validate(Request(null) with { Cache = new CacheHints(MaxAgeSeconds: maxAge) }, Chains, new RequestLimits()));

    [Fact]
    public void Cache_hints_and_allow_degraded_within_range_are_accepted()
    {
        Assert.Null(RequestValidator.Validate(Request(null) with { Cache = new CacheHints(false, 0), AllowDegraded = true }, Chains, new RequestLimits()));
        Assert.Null(RequestValidator.Validate(Request(null) with { Cache = new CacheHints() }, Chains, new RequestLimits()));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(9)]
    public void A_priority_from_0_to_9_is_accepted(int priority) =>
        Assert.Null(RequestValidator.Validate(Request(null) with { Priority = priority }, Chains, new RequestLimits()));

    [Theory]
    [InlineData(-1)]
    [InlineData(10)]
    [InlineData(255)]
    public void A_priority_out_of_range_is_refused_naming_the_field(int priority) =>
        Assert.Equal($"priority {priority} is out of range 0..9",
            RequestValidator.Validate(Request(null) with { Priority = priority }, Chains, new RequestLimits()));

    [Fact]
    public void A_request_without_priority_or_sheddable_gets_the_defaults()
    {
        var request = Request(null);

        Assert.Equal((5, false), (request.Priority, request.Sheddable));
        Assert.Equal(5, RequestPriority.Amqp(request));
    }

    [Fact]
    public void A_stored_request_from_before_priorities_reads_with_the_defaults_and_a_new_one_keeps_them()
    {
        var old = StoredJson.ReadRequest("""{"requestId":"5f0c8a52-7d0e-4c1b-9d56-2f3f0b8f3c2e","messages":[{"role":"user","content":"hi"}]}""");
        var stored = StoredJson.ReadRequest(StoredJson.Request(Request(null) with { Priority = 9, Sheddable = true }));

        Assert.Equal((5, false), (old!.Priority, old.Sheddable));
        Assert.Equal((9, true), (stored!.Priority, stored.Sheddable));
    }
}
