using Worker.Simulator.Calls;
using Worker.Simulator.Faults;

namespace Worker.Simulator.Anthropic;

/// <summary>
/// Anthropic Messages: <c>POST /{target}/v1/messages</c>. The Anthropic SDK appends <c>/v1/messages</c> to its base URL
/// (default <c>https://api.anthropic.com</c>), so a worker points its BaseUrl at <c>http://host:port/anthropic</c>.
/// </summary>
internal static class AnthropicApi
{
    public const string Format = "anthropic";

    public static IEndpointRouteBuilder MapAnthropic(this IEndpointRouteBuilder app)
    {
        app.MapPost("/{target}/v1/messages", MessagesAsync);
        return app;
    }

    private static async Task<IResult> MessagesAsync(string target, HttpContext context, SimulatorState state, TimeProvider time)
    {
        context.Response.Headers["request-id"] = AnthropicWire.RequestId();
        // The body is read before the headers are checked only so that a rejected call is still counted under its model.
        var (request, model, error) = await AnthropicRequestReader.ReadAsync(context);

        if (!HasKey(context.Request))
            return await Reject(Fault.Unauthorized, AnthropicWire.Error(401, "authentication_error", "x-api-key header is required"));
        if (string.IsNullOrWhiteSpace(context.Request.Headers["anthropic-version"]))
            return await Reject(Fault.BadRequest, AnthropicWire.Error(400, "invalid_request_error", "anthropic-version: header is required"));
        if (request is null)
            return await Reject(Fault.BadRequest, AnthropicWire.Error(400, "invalid_request_error", error!));

        var plan = state.Admit(target, Format, request.Model, prompt: request.LastUserText, tokens: request.PromptWords + request.MaxTokens);
        return await CallPipeline.PlayAsync(context, plan, fault =>
        {
            AnthropicWire.RateLimitHeaders(plan.RateLimit, context.Response, time);
            return fault == Fault.Echo
                ? AnthropicWire.Error(500, "api_error", Echo.Of(context.Request))
                : AnthropicWire.Answer(fault, target, request, plan, context.Response);
        });

        Task<IResult> Reject(Fault fault, IResult answer) =>
            CallPipeline.PlayAsync(context, state.Admit(target, Format, model ?? "(unknown)", fault), _ => answer);
    }

    /// <summary>The x-api-key header, or an Authorization: Bearer token as the SDK sends for an auth token.</summary>
    private static bool HasKey(HttpRequest request)
    {
        if (!string.IsNullOrWhiteSpace(request.Headers["x-api-key"]))
            return true;
        var authorization = request.Headers.Authorization.ToString();
        return authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && !string.IsNullOrWhiteSpace(authorization["Bearer ".Length..]);
    }
}
