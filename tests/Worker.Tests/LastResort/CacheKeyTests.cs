using Worker.Contracts;
using Worker.LastResort;

namespace Worker.Tests.LastResort;

/// <summary>The cache key: what makes two requests the same question, and nothing else.</summary>
public class CacheKeyTests
{
    private static readonly CompletionRequested Request = new(Guid.NewGuid(), "lead-1",
        [new ChatMessage("system", "Be brief."), new ChatMessage("user", "Hello")], null, 200, 0.4,
        new DateTimeOffset(2026, 11, 21, 12, 0, 0, TimeSpan.Zero), new Dictionary<string, string> { ["crm"] = "hubspot" });

    [Fact]
    public void The_key_ignores_the_request_id_conversation_deadline_metadata_cache_hints_and_the_chain_names_case()
    {
        var key = CacheKey.Of(Request, "default");

        Assert.Matches("^[0-9a-f]{64}$", key);
        Assert.Equal(key, CacheKey.Of(Request with
        {
            RequestId = Guid.NewGuid(),
            ConversationId = "other",
            Deadline = null,
            Metadata = null,
            Cache = new CacheHints(true, 60),
            AllowDegraded = true,
        }, "DEFAULT"));
    }

    [Fact]
    public void The_key_changes_with_the_messages_the_chain_and_the_generation_parameters()
    {
        var key = CacheKey.Of(Request, "default");

        Assert.NotEqual(key, CacheKey.Of(Request, "fast"));
        Assert.NotEqual(key, CacheKey.Of(Request with { Messages = [new ChatMessage("system", "Be brief."), new ChatMessage("user", "Hello!")] }, "default"));
        Assert.NotEqual(key, CacheKey.Of(Request with { Messages = [new ChatMessage("user", "Be brief."), new ChatMessage("user", "Hello")] }, "default"));
        Assert.NotEqual(key, CacheKey.Of(Request with { MaxOutputTokens = 201 }, "default"));
        Assert.NotEqual(key, CacheKey.Of(Request with { MaxOutputTokens = null }, "default"));
        Assert.NotEqual(key, CacheKey.Of(Request with { Temperature = 0.41 }, "default"));
        Assert.NotEqual(key, CacheKey.Of(Request with { Temperature = null }, "default"));
    }

    [Fact]
    public void Route_hints_and_the_tenant_count_so_one_tenant_never_gets_an_answer_cached_for_another()
    {
        var key = CacheKey.Of(Request, "default");

        Assert.NotEqual(key, CacheKey.Of(Request with { Route = new RouteHints(Provider: "openai") }, "default"));
        Assert.NotEqual(CacheKey.Of(Request with { Route = new RouteHints(Model: "a") }, "default"),
            CacheKey.Of(Request with { Route = new RouteHints(Model: "b") }, "default"));
        Assert.NotEqual(key, CacheKey.Of(Request with { Tenant = "acme" }, "default"));
        Assert.NotEqual(CacheKey.Of(Request with { Tenant = "acme" }, "default"), CacheKey.Of(Request with { Tenant = "globex" }, "default"));
        Assert.Equal(CacheKey.Of(Request with { Tenant = "acme" }, "default"), CacheKey.Of(Request with { Tenant = "ACME" }, "default"));
    }

    [Fact]
    public void Text_that_only_differs_where_postgresql_cannot_store_it_still_gives_a_stable_key()
    {
        var odd = Request with { Messages = [new ChatMessage("user", "Hello\u0000")] };

        Assert.Equal(CacheKey.Of(odd, "default"), CacheKey.Of(odd with { RequestId = Guid.NewGuid() }, "default"));
    }
}
