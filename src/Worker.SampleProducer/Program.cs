// A chat backend's side of the worker, in one file you can copy: publish CompletionRequested, consume the results.
// Usage:
//   dotnet run --project src/Worker.SampleProducer -- "Your prompt"            one request, print its result
//   dotnet run --project src/Worker.SampleProducer -- --demo [--simulator URL]  the demo scenarios (ops/up.sh runs this)
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Worker.Contracts;
using Worker.SampleProducer;

var demo = args.Contains("--demo");
var simulatorIndex = Array.IndexOf(args, "--simulator");
Uri? simulator = simulatorIndex >= 0 && simulatorIndex + 1 < args.Length ? new Uri(args[simulatorIndex + 1]) : null;
var prompt = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal) && a != simulator?.OriginalString)
             ?? "Suggest a friendly opening line for a sales email to a logistics company.";

var builder = Host.CreateApplicationBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
var rabbit = new Uri(builder.Configuration.GetConnectionString("RabbitMq") ?? "amqp://guest:guest@localhost:5672/");
builder.Services.AddSingleton<ResultInbox>();
builder.Services.AddMassTransit(x =>
{
    x.DisableUsageTelemetry();
    // The results queue is durable: results published while this backend is down wait for it.
    x.AddConsumer<ResultConsumer>().Endpoint(e => e.Name = "sample-producer-results");
    x.UsingRabbitMq((context, cfg) =>
    {
        var user = rabbit.UserInfo.Split(':', 2);
        cfg.Host(rabbit.Host, (ushort)(rabbit.IsDefaultPort || rabbit.Port < 0 ? 5672 : rabbit.Port), Uri.UnescapeDataString(rabbit.AbsolutePath.TrimStart('/')) is { Length: > 0 } v ? v : "/", h =>
        {
            h.Username(user.Length > 0 && user[0].Length > 0 ? Uri.UnescapeDataString(user[0]) : "guest");
            h.Password(user.Length > 1 ? Uri.UnescapeDataString(user[1]) : "guest");
        });
        // The broker orders the worker's priority queue by the AMQP priority, not the body: give every request its own.
        cfg.ConfigurePublish(p => p.UseExecute(ctx =>
        {
            if (ctx is PublishContext<CompletionRequested> request)
                request.SetPriority(RequestPriority.Amqp(request.Message));
        }));
        cfg.ConfigureEndpoints(context);
    });
});

using var host = builder.Build();
await host.StartAsync();
await host.Services.GetRequiredService<IBusControl>().WaitForHealthStatus(BusHealthStatus.Healthy, TimeSpan.FromSeconds(30));
var bus = host.Services.GetRequiredService<IBus>();
var inbox = host.Services.GetRequiredService<ResultInbox>();

if (demo)
{
    await new Demo(bus, inbox, simulator).RunAsync();
}
else
{
    var request = new CompletionRequested(Guid.NewGuid(), "sample-conversation", [new ChatMessage(ChatRoles.User, prompt)]);
    Console.WriteLine($"Published {request.RequestId}; waiting for its result...");
    await bus.Publish(request);
    ResultInbox.Print(await inbox.WaitAsync(request.RequestId, TimeSpan.FromMinutes(5)));
}

await host.StopAsync();
