using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Worker.Contracts;
using Worker.Providers;
using Worker.Providers.Anthropic;
using static Worker.Tests.Providers.StubHandler;

namespace Worker.Tests.Providers;

public class AnthropicProviderTests
{
    // Deliberately not shaped like an Anthropic key, so redaction is proven for the exact key, not by pattern.
    private const string Key = "test-anthropic-key-7c41f9";

    private const string Answer = """
        {
          "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
          "type": "message",
          "role": "assistant",
          "model": "claude-sonnet-4-5-20250929",
          "content": [ { "type": "text", "text": "Hello, " }, { "type": "text", "text": "world" } ],
          "stop_reason": "end_turn",
          "stop_sequence": null,
          "usage": { "input_tokens": 12, "cache_creation_input_tokens": 5, "cache_read_input_tokens": 100, "output_tokens": 6, "service_tier": "standard" }
        }
        """;

    private static readonly ProviderRequest Request = new(
        "claude-sonnet-4-5",
        [
            new ChatMessage("system", "Be brief."),
            new ChatMessage("user", "Hi"),
            new ChatMessage("assistant", "Hello!"),
            new ChatMessage("user", "How are you?"),
        ],
        MaxOutputTokens: 256,
        Temperature: 0.2);

    private static readonly JsonElement LeadSchema = JsonElement.Parse("""
        {"type":"object","properties":{"lead":{"type":"string"}},"required":["lead"]}
        """);

    private static readonly ToolDefinition LookUp = new("look_up_lead", "Finds a lead by email.", LeadSchema);

    private static AnthropicProvider Provider(StubHandler handler, string baseUrl = "https://anthropic.test", TimeSpan? timeout = null, TimeProvider? time = null) =>
        new("anthropic",
            new ProviderOptions { Kind = ProviderKind.Anthropic, BaseUrl = new Uri(baseUrl), ApiKey = Key, Timeout = timeout ?? TimeSpan.FromSeconds(30) },
            new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan },
            time ?? TimeProvider.System,
            NullLogger.Instance);

    private static async Task<ProviderSuccess> Success(string body, ProviderRequest? request = null)
    {
        var handler = new StubHandler(() => JsonResponse(200, body));
        return Assert.IsType<ProviderSuccess>(await Provider(handler).CompleteAsync(request ?? Request, CancellationToken.None));
    }

    private static async Task<ProviderFailure> Failure(StubHandler handler, ProviderRequest? request = null)
    {
        var result = await Provider(handler).CompleteAsync(request ?? Request, CancellationToken.None);
        var failure = Assert.IsType<ProviderFailure>(result);
        // Exactly one HTTP call: the SDK's own retries must be off.
        Assert.Equal(1, handler.Calls);
        Assert.DoesNotContain(Key, failure.Detail);
        return failure;
    }

    /// <summary>The body the provider sent for <paramref name="request"/>.</summary>
    private static async Task<JsonElement> Sent(ProviderRequest request)
    {
        var handler = new StubHandler(() => JsonResponse(200, Answer));
        await Provider(handler).CompleteAsync(request, CancellationToken.None);
        return JsonElement.Parse(handler.Last.Body);
    }

    private static string Error(string type, string message) =>
        JsonSerializer.Serialize(new { type = "error", error = new { type, message }, request_id = "req_011CSHoEeqs5C35K2UUqR7Fy" });

    private static string Message(string content, string? stopReason) =>
        $$$"""
        {"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":{{{content}}},
         "stop_reason":{{{(stopReason is null ? "null" : $"\"{stopReason}\"")}}},"usage":{"input_tokens":10,"output_tokens":3}}
        """;

    private static List<string> Types(JsonElement blocks) => blocks.EnumerateArray().Select(b => b.GetProperty("type").GetString()!).ToList();

    [Fact]
    public async Task Answer_maps_text_tokens_model_and_finish_reason()
    {
        var success = await Success(Answer);

        Assert.Equal("Hello, world", success.Text);
        Assert.Equal("claude-sonnet-4-5-20250929", success.Model);
        // Cache writes and reads are input too: 12 + 5 + 100.
        Assert.Equal(117, success.InputTokens);
        Assert.Equal(6, success.OutputTokens);
        Assert.Equal("end_turn", success.FinishReason);
        Assert.Equal(FinishReasons.Stop, success.Finish);
        Assert.Null(success.ToolCalls);
    }

    [Fact]
    public async Task Request_goes_to_v1_messages_with_the_key_and_an_api_version()
    {
        var handler = new StubHandler(() => JsonResponse(200, Answer));

        await Provider(handler, "http://127.0.0.1:5080/anthropic/").CompleteAsync(Request, CancellationToken.None);

        var sent = handler.Last;
        Assert.Equal(HttpMethod.Post, sent.Method);
        Assert.Equal("http://127.0.0.1:5080/anthropic/v1/messages", sent.Uri.AbsoluteUri);
        // SDK 13.14 sends the key as a bearer token (not x-api-key) and pins the API version itself.
        Assert.Equal($"Bearer {Key}", sent.Headers["Authorization"]);
        Assert.False(sent.Headers.ContainsKey("x-api-key"));
        Assert.Matches(new Regex(@"^\d{4}-\d{2}-\d{2}$"), sent.Headers["anthropic-version"]);
        // Retries off: the SDK numbers its attempts, and this is its first.
        Assert.Equal("0", sent.Headers["x-stainless-retry-count"]);
        Assert.DoesNotContain(Key, sent.Uri.OriginalString);
        Assert.DoesNotContain(Key, sent.Body);
    }

    [Fact]
    public async Task System_messages_go_to_the_top_level_and_same_role_turns_are_merged()
    {
        var body = await Sent(Request with
        {
            Messages =
            [
                new ChatMessage("system", "Be brief."),
                new ChatMessage("user", "Hi"),
                new ChatMessage("system", "Answer in English."),
                new ChatMessage("user", "Are you there?"),
                new ChatMessage("assistant", "Yes."),
                new ChatMessage("assistant", "How can I help?"),
                new ChatMessage("user", "Book a meeting."),
            ],
        });

        Assert.Equal("claude-sonnet-4-5", body.GetProperty("model").GetString());
        Assert.Equal("Be brief.\n\nAnswer in English.", body.GetProperty("system").GetString());
        var turns = body.GetProperty("messages").EnumerateArray()
            .Select(m => (m.GetProperty("role").GetString(), string.Join("|", m.GetProperty("content").EnumerateArray().Select(b => b.GetProperty("text").GetString()))))
            .ToList();
        Assert.Equal([("user", "Hi|Are you there?"), ("assistant", "Yes.|How can I help?"), ("user", "Book a meeting.")], turns);
        Assert.Equal(256, body.GetProperty("max_tokens").GetInt32());
        Assert.Equal(0.2, body.GetProperty("temperature").GetDouble());
        Assert.False(body.TryGetProperty("tools", out _));
        Assert.False(body.TryGetProperty("tool_choice", out _));
    }

    [Fact]
    public async Task Max_tokens_defaults_when_the_request_sets_none_and_what_is_unset_is_left_out()
    {
        var body = await Sent(Request with { Messages = [new ChatMessage("user", "Hi")], MaxOutputTokens = null, Temperature = null });

        Assert.Equal(4096, body.GetProperty("max_tokens").GetInt32());
        Assert.False(body.TryGetProperty("temperature", out _));
        Assert.False(body.TryGetProperty("system", out _));
        Assert.Equal(["max_tokens", "messages", "model"], body.EnumerateObject().Select(p => p.Name).Order());
    }

    [Fact]
    public async Task Temperature_above_one_is_sent_as_one()
    {
        var body = await Sent(Request with { Temperature = 1.6 });

        Assert.Equal(1.0, body.GetProperty("temperature").GetDouble());
    }

    [Fact]
    public async Task Tool_calls_become_tool_use_blocks_and_tool_messages_one_user_turn_of_tool_results()
    {
        var arguments = JsonElement.Parse("""{"lead":"ada@example.com"}""");
        var body = await Sent(Request with
        {
            Tools = [LookUp],
            Messages =
            [
                new ChatMessage("user", "Who is ada@example.com?"),
                new ChatMessage("assistant", "Let me look.", [new ToolCall("toolu_01A", "look_up_lead", arguments), new ToolCall("toolu_01B", "look_up_lead", arguments)]),
                new ChatMessage("tool", """{"name":"Ada"}""", ToolCallId: "toolu_01A"),
                new ChatMessage("tool", """{"name":"Ada L."}""", ToolCallId: "toolu_01B"),
                new ChatMessage("user", "Thanks."),
            ],
        });

        var turns = body.GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(["user", "assistant", "user"], turns.Select(t => t.GetProperty("role").GetString()));

        var assistant = turns[1].GetProperty("content");
        Assert.Equal(["text", "tool_use", "tool_use"], Types(assistant));
        Assert.Equal("toolu_01A", assistant[1].GetProperty("id").GetString());
        Assert.Equal("look_up_lead", assistant[1].GetProperty("name").GetString());
        Assert.Equal("ada@example.com", assistant[1].GetProperty("input").GetProperty("lead").GetString());

        // Both results in one user turn, ahead of the user's text.
        var results = turns[2].GetProperty("content");
        Assert.Equal(["tool_result", "tool_result", "text"], Types(results));
        Assert.Equal("toolu_01A", results[0].GetProperty("tool_use_id").GetString());
        Assert.Equal("""{"name":"Ada"}""", results[0].GetProperty("content").GetString());
        Assert.Equal("toolu_01B", results[1].GetProperty("tool_use_id").GetString());
        Assert.Equal("Thanks.", results[2].GetProperty("text").GetString());
    }

    [Fact]
    public async Task Assistant_turn_with_only_tool_calls_has_no_empty_text_block()
    {
        var body = await Sent(Request with
        {
            Tools = [LookUp],
            Messages =
            [
                new ChatMessage("user", "Who is ada@example.com?"),
                new ChatMessage("assistant", null, [new ToolCall("toolu_01A", "look_up_lead", JsonElement.Parse("{}"))]),
                new ChatMessage("tool", "none found", ToolCallId: "toolu_01A"),
            ],
        });

        Assert.Equal(["tool_use"], Types(body.GetProperty("messages")[1].GetProperty("content")));
    }

    [Theory]
    [InlineData("call_abc123")]
    [InlineData("toolu_01-A")]
    public void Tool_ids_Anthropic_accepts_pass_unchanged(string id) => Assert.Equal(id, AnthropicRequests.ToolId(id));

    [Theory]
    [InlineData("call.1/x")]
    [InlineData("functions.look_up_lead:0")]
    [InlineData("")]
    [InlineData("ид")]
    public void Other_tool_ids_are_mapped_to_the_allowed_characters_the_same_way_every_time(string id)
    {
        var mapped = AnthropicRequests.ToolId(id);

        Assert.Matches(new Regex("^[a-zA-Z0-9_-]+$"), mapped);
        Assert.Equal(mapped, AnthropicRequests.ToolId(id));
    }

    [Fact]
    public void Ids_differing_only_in_rejected_characters_stay_apart()
    {
        Assert.NotEqual(AnthropicRequests.ToolId("call.1"), AnthropicRequests.ToolId("call:1"));
        Assert.NotEqual(AnthropicRequests.ToolId("call.1"), AnthropicRequests.ToolId("call_1"));
    }

    [Fact]
    public async Task A_foreign_tool_id_is_mapped_alike_in_tool_use_and_tool_result()
    {
        var body = await Sent(Request with
        {
            Tools = [LookUp],
            Messages =
            [
                new ChatMessage("user", "Who is ada@example.com?"),
                new ChatMessage("assistant", null, [new ToolCall("functions.look_up_lead:0", "look_up_lead", JsonElement.Parse("{}"))]),
                new ChatMessage("tool", "none found", ToolCallId: "functions.look_up_lead:0"),
            ],
        });

        var messages = body.GetProperty("messages");
        var id = messages[1].GetProperty("content")[0].GetProperty("id").GetString();
        Assert.Equal(AnthropicRequests.ToolId("functions.look_up_lead:0"), id);
        Assert.Equal(id, messages[2].GetProperty("content")[0].GetProperty("tool_use_id").GetString());
    }

    [Fact]
    public async Task Tools_are_sent_with_their_schema_and_an_empty_object_schema_when_they_take_no_arguments()
    {
        var body = await Sent(Request with { Tools = [LookUp, new ToolDefinition("list_meetings")] });

        var tools = body.GetProperty("tools");
        Assert.Equal("look_up_lead", tools[0].GetProperty("name").GetString());
        Assert.Equal("Finds a lead by email.", tools[0].GetProperty("description").GetString());
        Assert.True(JsonElement.DeepEquals(LeadSchema, tools[0].GetProperty("input_schema")));
        Assert.Equal("list_meetings", tools[1].GetProperty("name").GetString());
        Assert.False(tools[1].TryGetProperty("description", out _));
        Assert.True(JsonElement.DeepEquals(JsonElement.Parse("""{"type":"object","properties":{}}"""), tools[1].GetProperty("input_schema")));
        Assert.Equal("auto", body.GetProperty("tool_choice").GetProperty("type").GetString());
    }

    [Theory]
    [InlineData("auto", null, "auto", null)]
    [InlineData("none", null, "none", null)]
    [InlineData("required", null, "any", null)]
    [InlineData("tool", "look_up_lead", "tool", "look_up_lead")]
    public async Task Tool_choice_maps_to_Anthropic_types(string mode, string? name, string type, string? sentName)
    {
        var body = await Sent(Request with { Tools = [LookUp], ToolChoice = new ToolChoice(mode, name) });

        var choice = body.GetProperty("tool_choice");
        Assert.Equal(type, choice.GetProperty("type").GetString());
        Assert.Equal(sentName, choice.TryGetProperty("name", out var n) ? n.GetString() : null);
    }

    [Fact]
    public async Task Json_schema_is_asked_for_through_a_forced_tool_named_after_the_format()
    {
        var body = await Sent(Request with { ResponseFormat = new ResponseFormat(ResponseFormatTypes.JsonSchema, "lead_summary", LeadSchema) });

        var tool = Assert.Single(body.GetProperty("tools").EnumerateArray());
        Assert.Equal("lead_summary", tool.GetProperty("name").GetString());
        Assert.True(JsonElement.DeepEquals(LeadSchema, tool.GetProperty("input_schema")));
        var choice = body.GetProperty("tool_choice");
        Assert.Equal("tool", choice.GetProperty("type").GetString());
        Assert.Equal("lead_summary", choice.GetProperty("name").GetString());
    }

    [Fact]
    public async Task Json_without_a_schema_is_asked_for_through_an_open_object_tool()
    {
        var body = await Sent(Request with { ResponseFormat = new ResponseFormat(ResponseFormatTypes.Json) });

        var tool = Assert.Single(body.GetProperty("tools").EnumerateArray());
        Assert.Equal(AnthropicRequests.DefaultAnswerTool, tool.GetProperty("name").GetString());
        Assert.True(JsonElement.DeepEquals(JsonElement.Parse("""{"type":"object"}"""), tool.GetProperty("input_schema")));
        Assert.Equal(AnthropicRequests.DefaultAnswerTool, body.GetProperty("tool_choice").GetProperty("name").GetString());
    }

    [Fact]
    public async Task A_schema_without_a_type_is_given_type_object()
    {
        var schema = JsonElement.Parse("""{"properties":{"lead":{"type":"string"}}}""");

        var body = await Sent(Request with { ResponseFormat = new ResponseFormat(ResponseFormatTypes.JsonSchema, "lead", schema) });

        var sent = body.GetProperty("tools")[0].GetProperty("input_schema");
        Assert.Equal("object", sent.GetProperty("type").GetString());
        Assert.Equal("string", sent.GetProperty("properties").GetProperty("lead").GetProperty("type").GetString());
    }

    [Fact]
    public async Task With_its_own_tools_a_json_request_offers_both_and_requires_some_tool()
    {
        var body = await Sent(Request with
        {
            Tools = [LookUp],
            ResponseFormat = new ResponseFormat(ResponseFormatTypes.JsonSchema, "look_up_lead", LeadSchema),
        });

        // The format's name is taken by a request tool, so the answer tool gets the default name.
        Assert.Equal(["look_up_lead", AnthropicRequests.DefaultAnswerTool],
            body.GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("name").GetString()));
        Assert.Equal("any", body.GetProperty("tool_choice").GetProperty("type").GetString());
    }

    [Fact]
    public async Task With_its_own_tools_turned_off_a_json_request_forces_the_answer_tool()
    {
        var body = await Sent(Request with
        {
            Tools = [LookUp],
            ToolChoice = ToolChoice.None,
            ResponseFormat = new ResponseFormat(ResponseFormatTypes.Json),
        });

        var choice = body.GetProperty("tool_choice");
        Assert.Equal("tool", choice.GetProperty("type").GetString());
        Assert.Equal(AnthropicRequests.DefaultAnswerTool, choice.GetProperty("name").GetString());
    }

    [Fact]
    public async Task A_schema_that_is_not_an_object_cannot_be_served_and_costs_no_call()
    {
        var request = Request with
        {
            ResponseFormat = new ResponseFormat(ResponseFormatTypes.JsonSchema, "leads", JsonElement.Parse("""{"type":"array","items":{"type":"string"}}""")),
        };
        var handler = new StubHandler(() => JsonResponse(200, Answer));
        var provider = Provider(handler);

        var reason = provider.CannotServe(request);
        var failure = Assert.IsType<ProviderFailure>(await provider.CompleteAsync(request, CancellationToken.None));

        Assert.NotNull(reason);
        Assert.Equal((ErrorClass.InvalidRequest, reason), (failure.Class, failure.Detail));
        Assert.Equal(0, handler.Calls);
    }

    [Fact]
    public async Task Unknown_role_is_an_invalid_request_without_any_call()
    {
        var handler = new StubHandler(() => JsonResponse(200, Answer));

        var result = await Provider(handler).CompleteAsync(Request with { Messages = [new ChatMessage("developer", "Hi")] }, CancellationToken.None);

        var failure = Assert.IsType<ProviderFailure>(result);
        Assert.Equal(ErrorClass.InvalidRequest, failure.Class);
        Assert.Contains("developer", failure.Detail);
        Assert.Equal(0, handler.Calls);
    }

    [Fact]
    public async Task Tool_use_blocks_become_tool_calls()
    {
        var success = await Success(Message("""
            [{"type":"text","text":"Let me look that up."},
             {"type":"tool_use","id":"toolu_01A09q90qw90lq917835lq9","name":"look_up_lead","input":{"lead":"ada@example.com"}}]
            """, "tool_use"), Request with { Tools = [LookUp] });

        Assert.Equal("Let me look that up.", success.Text);
        var call = Assert.Single(success.ToolCalls!);
        Assert.Equal("toolu_01A09q90qw90lq917835lq9", call.Id);
        Assert.Equal("look_up_lead", call.Name);
        Assert.Equal("ada@example.com", call.Arguments.GetProperty("lead").GetString());
        Assert.Equal("tool_use", success.FinishReason);
        Assert.Equal(FinishReasons.ToolCalls, success.Finish);
    }

    [Fact]
    public async Task Tool_calls_without_text_are_an_answer()
    {
        var success = await Success(Message("""[{"type":"tool_use","id":"toolu_01","name":"look_up_lead","input":{}}]""", "tool_use"));

        Assert.Equal("", success.Text);
        Assert.Single(success.ToolCalls!);
    }

    [Fact]
    public async Task The_answer_tool_input_is_the_text_not_a_tool_call()
    {
        var success = await Success(
            Message("""[{"type":"tool_use","id":"toolu_01","name":"lead_summary","input":{"lead":"Ada"}}]""", "tool_use"),
            Request with { ResponseFormat = new ResponseFormat(ResponseFormatTypes.JsonSchema, "lead_summary", LeadSchema) });

        Assert.Equal("""{"lead":"Ada"}""", success.Text);
        Assert.Null(success.ToolCalls);
        Assert.Equal(FinishReasons.Stop, success.Finish);
    }

    [Fact]
    public async Task A_json_request_whose_model_calls_one_of_its_tools_gets_the_tool_call()
    {
        var success = await Success(
            Message("""[{"type":"tool_use","id":"toolu_01","name":"look_up_lead","input":{"lead":"ada@example.com"}}]""", "tool_use"),
            Request with { Tools = [LookUp], ResponseFormat = new ResponseFormat(ResponseFormatTypes.Json) });

        Assert.Equal("", success.Text);
        Assert.Equal("look_up_lead", Assert.Single(success.ToolCalls!).Name);
        Assert.Equal(FinishReasons.ToolCalls, success.Finish);
    }

    [Theory]
    [InlineData("end_turn", FinishReasons.Stop)]
    [InlineData("stop_sequence", FinishReasons.Stop)]
    [InlineData("max_tokens", FinishReasons.Length)]
    [InlineData("model_context_window_exceeded", FinishReasons.Length)]
    [InlineData("pause_turn", FinishReasons.Stop)]
    [InlineData("a_reason_from_next_year", FinishReasons.Stop)]
    public async Task Stop_reasons_are_normalised_and_the_text_kept(string stopReason, string finish)
    {
        var success = await Success(Message("""[{"type":"text","text":"Once upon a"}]""", stopReason));

        Assert.Equal("Once upon a", success.Text);
        Assert.Equal(stopReason, success.FinishReason);
        Assert.Equal(finish, success.Finish);
    }

    [Fact]
    public async Task Unknown_content_blocks_are_skipped()
    {
        var success = await Success(Message("""
            [{"type":"thinking","thinking":"The user greets me.","signature":"EqQBCgIYAhIM"},
             {"type":"a_block_from_next_year","data":1},
             {"type":"text","text":"Hi!"}]
            """, "end_turn"));

        Assert.Equal("Hi!", success.Text);
    }

    [Fact]
    public async Task Refusal_is_content_blocked()
    {
        var failure = await Failure(new StubHandler(() => JsonResponse(200, Message("[]", "refusal"))));

        Assert.Equal(ErrorClass.ContentBlocked, failure.Class);
        Assert.Contains("refusal", failure.Detail);
    }

    [Fact]
    public async Task Max_tokens_before_any_text_is_bad_output()
    {
        var failure = await Failure(new StubHandler(() => JsonResponse(200, Message("[]", "max_tokens"))));

        Assert.Equal(ErrorClass.BadOutput, failure.Class);
        Assert.Contains("truncated before any text", failure.Detail);
    }

    [Theory]
    [InlineData("""{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"stop_reason":"end_turn"}""", "no text and no tool calls")]
    [InlineData("""{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"  "}],"stop_reason":"end_turn"}""", "no text and no tool calls")]
    [InlineData("""{"id":"msg_1","type":"message","role":"assistant","model":"m","stop_reason":"end_turn"}""", "no text and no tool calls")]
    [InlineData("""{"id":"msg_1","content":[{""", "not valid")]
    [InlineData("<html>oops</html>", "not valid")]
    public async Task Unusable_2xx_bodies_are_bad_output(string body, string expected)
    {
        var failure = await Failure(new StubHandler(() => JsonResponse(200, body)));

        Assert.Equal(ErrorClass.BadOutput, failure.Class);
        Assert.Contains(expected, failure.Detail);
    }

    [Theory]
    [InlineData(529, "overloaded_error", "Overloaded", ErrorClass.Server)]
    [InlineData(500, "api_error", "Internal server error", ErrorClass.Server)]
    [InlineData(504, "timeout_error", "Request timed out", ErrorClass.Server)]
    [InlineData(429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit", ErrorClass.RateLimited)]
    [InlineData(400, "invalid_request_error", "messages: roles must alternate", ErrorClass.InvalidRequest)]
    [InlineData(413, "request_too_large", "Request exceeds the maximum allowed number of bytes.", ErrorClass.InvalidRequest)]
    [InlineData(404, "not_found_error", "model: claude-9", ErrorClass.InvalidRequest)]
    [InlineData(401, "authentication_error", "invalid x-api-key", ErrorClass.Auth)]
    [InlineData(403, "permission_error", "Your API key does not have permission to use the specified resource.", ErrorClass.Auth)]
    [InlineData(402, "billing_error", "Your credit balance is too low to access the Anthropic API.", ErrorClass.Auth)]
    public async Task Errors_are_classified_by_status_and_named_in_the_detail(int status, string type, string message, ErrorClass expected)
    {
        var failure = await Failure(new StubHandler(() => JsonResponse(status, Error(type, message))));

        Assert.Equal(expected, failure.Class);
        Assert.Equal(status, failure.HttpStatus);
        Assert.Equal($"HTTP {status} ({type}): {message}", failure.Detail);
    }

    [Fact]
    public async Task Rate_limit_carries_Retry_After_and_the_quota_headers()
    {
        var now = new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
        var handler = new StubHandler(() => JsonResponse(429, Error("rate_limit_error", "Slow down."),
            ("retry-after", "17"),
            ("anthropic-ratelimit-requests-limit", "50"),
            ("anthropic-ratelimit-requests-remaining", "0"),
            ("anthropic-ratelimit-requests-reset", "2026-01-01T12:00:17Z"),
            ("anthropic-ratelimit-tokens-limit", "30000"),
            ("anthropic-ratelimit-tokens-remaining", "1200"),
            ("anthropic-ratelimit-tokens-reset", "2026-01-01T12:00:05Z")));

        var failure = Assert.IsType<ProviderFailure>(await Provider(handler, time: new FakeTimeProvider(now)).CompleteAsync(Request, CancellationToken.None));

        Assert.Equal(ErrorClass.RateLimited, failure.Class);
        Assert.Equal(TimeSpan.FromSeconds(17), failure.RetryAfter);
        Assert.Equal(new QuotaWindow(0, 50, now.AddSeconds(17)), failure.Quota!.Requests);
        Assert.Equal(new QuotaWindow(1200, 30000, now.AddSeconds(5)), failure.Quota.Tokens);
        Assert.Equal(1, handler.Calls);
    }

    [Fact]
    public async Task A_success_carries_the_quota_headers_too()
    {
        var handler = new StubHandler(() => JsonResponse(200, Answer,
            ("anthropic-ratelimit-requests-limit", "50"), ("anthropic-ratelimit-requests-remaining", "49")));

        var success = Assert.IsType<ProviderSuccess>(await Provider(handler).CompleteAsync(Request, CancellationToken.None));

        Assert.Equal(new QuotaWindow(49, 50, null), success.Quota!.Requests);
        Assert.Null(success.Quota.Tokens);
    }

    [Fact]
    public async Task Unreadable_quota_headers_are_dropped_not_a_failure()
    {
        var handler = new StubHandler(() => JsonResponse(200, Answer,
            ("anthropic-ratelimit-requests-remaining", "plenty"), ("anthropic-ratelimit-tokens-remaining", "-1")));

        var success = Assert.IsType<ProviderSuccess>(await Provider(handler).CompleteAsync(Request, CancellationToken.None));

        Assert.Equal("Hello, world", success.Text);
        Assert.Null(success.Quota);
    }

    [Fact]
    public async Task Concurrent_calls_each_read_their_own_response_headers()
    {
        // One SDK client serves every call; the headers must still reach the call they answered. No call is answered
        // before all are in flight, so they truly overlap.
        const int Calls = 20;
        var arrived = 0;
        var allArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handler = new StubHandler(async (request, cancellationToken) =>
        {
            var model = JsonElement.Parse(await request.Content!.ReadAsStringAsync(cancellationToken)).GetProperty("model").GetString()!;
            if (Interlocked.Increment(ref arrived) == Calls)
                allArrived.SetResult();
            await allArrived.Task;
            return JsonResponse(429, Error("rate_limit_error", "Slow down."), ("retry-after", model), ("anthropic-ratelimit-requests-remaining", model));
        });
        var provider = Provider(handler);

        var results = await Task.WhenAll(Enumerable.Range(1, Calls).Select(async i =>
            (i, Assert.IsType<ProviderFailure>(await provider.CompleteAsync(Request with { Model = $"{i}" }, CancellationToken.None)))));

        Assert.All(results, r =>
        {
            Assert.Equal(TimeSpan.FromSeconds(r.i), r.Item2.RetryAfter);
            Assert.Equal(r.i, r.Item2.Quota!.Requests!.Value.Remaining);
        });
        Assert.Equal(Calls, handler.Calls);
    }

    [Fact]
    public async Task A_server_error_without_Retry_After_has_none_and_a_non_json_body_is_quoted()
    {
        var failure = await Failure(new StubHandler(() => JsonResponse(502, "<html>bad gateway</html>")));

        Assert.Equal(ErrorClass.Server, failure.Class);
        Assert.Null(failure.RetryAfter);
        Assert.Equal("HTTP 502: <html>bad gateway</html>", failure.Detail);
    }

    [Fact]
    public async Task A_body_over_MaxResponseBytes_is_bad_output_through_the_sdk()
    {
        var stub = new StubHandler(() => JsonResponse(200, Answer + new string(' ', 4096)));
        var http = new HttpClient(new ResponseBodyLimit("anthropic", 4096) { InnerHandler = stub }) { Timeout = Timeout.InfiniteTimeSpan };
        var provider = new AnthropicProvider("anthropic",
            new ProviderOptions { Kind = ProviderKind.Anthropic, BaseUrl = new Uri("https://anthropic.test"), ApiKey = Key }, http, TimeProvider.System, NullLogger.Instance);

        var failure = Assert.IsType<ProviderFailure>(await provider.CompleteAsync(Request, CancellationToken.None));

        Assert.Equal((ErrorClass.BadOutput, 200), (failure.Class, failure.HttpStatus));
        Assert.Contains("Providers:anthropic:MaxResponseBytes", failure.Detail);
        Assert.Equal(1, stub.Calls);
    }

    [Fact]
    public async Task An_error_body_over_MaxResponseBytes_keeps_the_class_of_its_status()
    {
        var stub = new StubHandler(() => JsonResponse(529, new string('x', 10_000)));
        var http = new HttpClient(new ResponseBodyLimit("anthropic", 4096) { InnerHandler = stub }) { Timeout = Timeout.InfiniteTimeSpan };
        var provider = new AnthropicProvider("anthropic",
            new ProviderOptions { Kind = ProviderKind.Anthropic, BaseUrl = new Uri("https://anthropic.test"), ApiKey = Key }, http, TimeProvider.System, NullLogger.Instance);

        var failure = Assert.IsType<ProviderFailure>(await provider.CompleteAsync(Request, CancellationToken.None));

        Assert.Equal((ErrorClass.Server, 529), (failure.Class, failure.HttpStatus));
        Assert.Contains("MaxResponseBytes", failure.Detail);
        Assert.Equal(1, stub.Calls);
    }

    [Fact]
    public async Task Connection_refused_is_network()
    {
        var handler = new StubHandler((_, _) => throw new HttpRequestException(
            HttpRequestError.ConnectionError, "Connection refused (anthropic.test:443)", new SocketException((int)SocketError.ConnectionRefused)));

        var failure = await Failure(handler);

        Assert.Equal(ErrorClass.Network, failure.Class);
        Assert.Contains("Connection refused", failure.Detail);
    }

    [Fact]
    public async Task Own_timeout_on_the_injected_clock_is_a_timeout_failure_not_an_exception()
    {
        var time = new FakeTimeProvider();
        var handler = new StubHandler(Hang);

        var call = Provider(handler, timeout: TimeSpan.FromSeconds(30), time: time).CompleteAsync(Request, CancellationToken.None);
        await handler.Called;
        time.Advance(TimeSpan.FromSeconds(30));

        var failure = Assert.IsType<ProviderFailure>(await call);
        Assert.Equal(ErrorClass.Timeout, failure.Class);
        Assert.Equal(1, handler.Calls);
    }

    [Fact]
    public async Task The_sdk_timeout_is_the_provider_timeout()
    {
        // The SDK's timer runs on the real clock and cannot be faked; the fake clock here never moves, so only the SDK's
        // timer can end this call, and the handler never answers, so no machine is fast enough to pass without it.
        var handler = new StubHandler(Hang);

        var result = await Provider(handler, timeout: TimeSpan.FromMilliseconds(200), time: new FakeTimeProvider())
            .CompleteAsync(Request, CancellationToken.None)
            .WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(ErrorClass.Timeout, Assert.IsType<ProviderFailure>(result).Class);
        Assert.Equal(1, handler.Calls);
    }

    [Fact]
    public async Task Caller_cancellation_during_the_call_throws()
    {
        var handler = new StubHandler(Hang);
        using var caller = new CancellationTokenSource();

        var call = Provider(handler).CompleteAsync(Request, caller.Token);
        await handler.Called;
        await caller.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        Assert.Equal(1, handler.Calls);
    }

    [Fact]
    public async Task Already_cancelled_caller_costs_no_call()
    {
        var handler = new StubHandler(() => JsonResponse(200, Answer));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Provider(handler).CompleteAsync(Request, new CancellationToken(true)));
        Assert.Equal(0, handler.Calls);
    }

    [Fact]
    public async Task Key_echoed_by_the_server_never_reaches_the_detail()
    {
        var handler = new StubHandler((request, _) =>
        {
            var echo = $"Authorization: {request.Headers.Authorization} is not valid for {request.RequestUri}";
            return Task.FromResult(JsonResponse(401, Error("authentication_error", echo)));
        });

        var failure = await Failure(handler);

        Assert.Equal(ErrorClass.Auth, failure.Class);
        Assert.Contains("[redacted]", failure.Detail);
    }
}
