using System.Text.Json;
using System.Text.RegularExpressions;
using Worker.Contracts;
using Worker.Providers;
using Worker.Providers.OpenAI;
using static Worker.Tests.Providers.OpenAIToolsTests;
using static Worker.Tests.Providers.StubHandler;

namespace Worker.Tests.Providers;

/// <summary>What the Mistral and Ollama presets change on the wire.</summary>
public class OpenAICompatQuirksTests
{
    private static readonly Regex MistralId = new("^[a-zA-Z0-9]{9}$");

    private static readonly JsonElement NoArguments = JsonOf("{}");

    private static readonly ProviderRequest Conversation = new(
        "mistral-small-latest",
        [
            new ChatMessage("user", "Book a call with Ada and Bob."),
            new ChatMessage("assistant", null,
            [
                new ToolCall("call_k3Jd9ZqP0aLmXvB2", "book_meeting", NoArguments),
                new ToolCall("toolu_01A09q90qw90lq917835lq9", "book_meeting", NoArguments),
                new ToolCall("D681PevKs", "book_meeting", NoArguments),
            ]),
            new ChatMessage("tool", "booked", ToolCallId: "call_k3Jd9ZqP0aLmXvB2"),
            new ChatMessage("tool", "booked", ToolCallId: "toolu_01A09q90qw90lq917835lq9"),
            new ChatMessage("tool", "booked", ToolCallId: "D681PevKs"),
        ],
        MaxOutputTokens: 300,
        Temperature: null,
        Tools: [new ToolDefinition("book_meeting")]);

    private static (List<string> Calls, List<string> Answers) Ids(JsonElement body)
    {
        var messages = body.GetProperty("messages").EnumerateArray().ToList();
        return (
            messages[1].GetProperty("tool_calls").EnumerateArray().Select(c => c.GetProperty("id").GetString()!).ToList(),
            messages.Where(m => m.GetProperty("role").GetString() == "tool").Select(m => m.GetProperty("tool_call_id").GetString()!).ToList());
    }

    [Fact]
    public async Task Mistral_gets_nine_character_ids_mapped_alike_in_calls_and_answers()
    {
        var (calls, answers) = Ids(await SentBody(Conversation, "mistral"));

        Assert.All(calls, id => Assert.Matches(MistralId, id));
        Assert.Equal(calls, answers);
        Assert.Equal(3, calls.Distinct().Count());
        // An id Mistral made itself already fits and comes back unchanged.
        Assert.Equal("D681PevKs", calls[2]);
    }

    [Fact]
    public async Task Mistral_id_mapping_is_the_same_on_every_request()
    {
        var first = Ids(await SentBody(Conversation, "mistral"));
        var second = Ids(await SentBody(Conversation with { Messages = [.. Conversation.Messages, new ChatMessage("user", "Thanks")] }, "mistral"));

        Assert.Equal(first.Calls, second.Calls);
        Assert.Equal(first.Answers, second.Answers);
    }

    [Theory]
    [InlineData("call_k3Jd9ZqP0aLmXvB2")]
    [InlineData("call_1")]
    [InlineData("x")]
    [InlineData("ééé-ü")]
    public void Nine_character_mapping_is_deterministic_and_alphanumeric(string id)
    {
        var mapped = NineCharToolCallIds.Map(id);

        Assert.Matches(MistralId, mapped);
        Assert.Equal(mapped, NineCharToolCallIds.Map(id));
        Assert.NotEqual(id, mapped);
    }

    [Fact]
    public async Task Without_the_mistral_preset_ids_pass_through()
    {
        var (calls, answers) = Ids(await SentBody(Conversation));

        Assert.Equal(["call_k3Jd9ZqP0aLmXvB2", "toolu_01A09q90qw90lq917835lq9", "D681PevKs"], calls);
        Assert.Equal(calls, answers);
    }

    [Theory]
    [InlineData("mistral")]
    [InlineData("ollama")]
    public async Task Mistral_and_ollama_get_max_tokens_instead_of_max_completion_tokens(string preset)
    {
        var body = await SentBody(Conversation, preset);

        Assert.Equal(300, body.GetProperty("max_tokens").GetInt32());
        Assert.False(body.TryGetProperty("max_completion_tokens", out _));
    }

    [Theory]
    [InlineData("groq")]
    [InlineData("openrouter")]
    [InlineData("vllm")]
    public async Task Other_presets_keep_max_completion_tokens_and_ids(string preset)
    {
        var body = await SentBody(Conversation, preset);

        Assert.Equal(300, body.GetProperty("max_completion_tokens").GetInt32());
        Assert.False(body.TryGetProperty("max_tokens", out _));
        Assert.Equal("call_k3Jd9ZqP0aLmXvB2", Ids(body).Calls[0]);
    }

    [Fact]
    public async Task Mistral_keeps_tool_choice_required_as_it_is()
    {
        var body = await SentBody(Conversation with { ToolChoice = ToolChoice.Required }, "mistral");

        Assert.Equal("required", body.GetProperty("tool_choice").GetString());
    }

    [Fact]
    public async Task Ollama_is_sent_no_tool_choice_since_it_reads_none()
    {
        var body = await SentBody(Conversation with { ToolChoice = ToolChoice.Auto }, "ollama");

        Assert.False(body.TryGetProperty("tool_choice", out _));
        Assert.Single(body.GetProperty("tools").EnumerateArray());
    }

    [Fact]
    public async Task Ollama_honours_tool_choice_none_by_sending_no_tools()
    {
        var body = await SentBody(Conversation with { ToolChoice = ToolChoice.None }, "ollama");

        Assert.False(body.TryGetProperty("tools", out _));
        Assert.False(body.TryGetProperty("tool_choice", out _));
    }

    [Theory]
    [InlineData("required", "'required'")]
    [InlineData("tool", "'book_meeting'")]
    public async Task Ollama_cannot_serve_a_forced_tool_choice_and_costs_no_call(string mode, string named)
    {
        var handler = new StubHandler(() => JsonResponse(200, "{}"));
        var provider = Provider(handler, "ollama");
        var request = Conversation with { ToolChoice = mode == ToolChoiceModes.Tool ? ToolChoice.Tool("book_meeting") : ToolChoice.Required };

        var reason = provider.CannotServe(request);
        var result = await provider.CompleteAsync(request, CancellationToken.None);

        Assert.NotNull(reason);
        Assert.Contains(named, reason);
        var failure = Assert.IsType<ProviderFailure>(result);
        Assert.Equal(ErrorClass.InvalidRequest, failure.Class);
        Assert.Equal(reason, failure.Detail);
        Assert.Equal(0, handler.Calls);
    }

    [Fact]
    public void Ollama_can_serve_tool_choices_it_need_not_enforce()
    {
        var provider = Provider(new StubHandler(() => JsonResponse(200, "{}")), "ollama");

        Assert.Null(provider.CannotServe(Conversation with { ToolChoice = ToolChoice.Auto }));
        Assert.Null(provider.CannotServe(Conversation with { ToolChoice = ToolChoice.None }));
        Assert.Null(provider.CannotServe(Conversation with { ToolChoice = ToolChoice.Required, Tools = null }));
    }
}
