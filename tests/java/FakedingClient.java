// A Stream client using only the JDK (java.net.http), run as `java FakedingClient.java GATEWAY_URL`.
// Trust and proxy come only from the JVM flags fakeding hands out (JAVA_TOOL_OPTIONS): the default
// SSLContext reads javax.net.ssl.trustStore, ProxySelector.getDefault() reads https.proxyHost.
// Like the official Java SDK it accepts only a wss:// endpoint and rebuilds scheme://host:port/connect.
// It prints one line per step (GATEWAY, OPEN, FRAME <json>) and acks the first CALLBACK, then exits.
import java.net.ProxySelector;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

public class FakedingClient {
    static String field(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\"\\s*:\\s*\"([^\"]*)\"").matcher(json);
        if (!m.find()) throw new IllegalStateException("no " + name + " in " + json);
        return m.group(1);
    }

    public static void main(String[] args) throws Exception {
        HttpClient http = HttpClient.newBuilder().proxy(ProxySelector.getDefault())
                .connectTimeout(Duration.ofSeconds(10)).build();
        String body = "{\"clientId\":\"fakeding-client\",\"clientSecret\":\"fakeding-secret\",\"ua\":\"jdk-client\","
                + "\"subscriptions\":[{\"type\":\"CALLBACK\",\"topic\":\"/v1.0/im/bot/messages/get\"}]}";
        HttpResponse<String> gw = http.send(HttpRequest.newBuilder(URI.create(args[0]))
                .header("Content-Type", "application/json").header("Accept", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        System.out.println("GATEWAY " + gw.statusCode() + " " + gw.body());
        URI endpoint = URI.create(field(gw.body(), "endpoint"));
        if (!"wss".equals(endpoint.getScheme())) throw new IllegalStateException("not wss: " + endpoint);
        URI uri = URI.create(endpoint.getScheme() + "://" + endpoint.getHost() + ":" + endpoint.getPort()
                + "/connect?ticket=" + URLEncoder.encode(field(gw.body(), "ticket"), StandardCharsets.UTF_8));
        CompletableFuture<Void> acked = new CompletableFuture<>();
        WebSocket ws = http.newWebSocketBuilder().buildAsync(uri, new WebSocket.Listener() {
            final StringBuilder text = new StringBuilder();
            @Override public void onOpen(WebSocket socket) {
                System.out.println("OPEN " + uri.getHost() + ":" + uri.getPort());
                System.out.flush();
                socket.request(1);
            }
            @Override public CompletionStage<?> onText(WebSocket socket, CharSequence data, boolean last) {
                text.append(data);
                if (last) {
                    String frame = text.toString();
                    text.setLength(0);
                    System.out.println("FRAME " + frame);
                    System.out.flush();
                    if (Pattern.compile("\"type\"\\s*:\\s*\"CALLBACK\"").matcher(frame).find()) {
                        String ack = "{\"code\":200,\"headers\":{\"contentType\":\"application/json\",\"messageId\":\""
                                + field(frame, "messageId") + "\"},\"message\":\"OK\",\"data\":\"{\\\"response\\\":null}\"}";
                        socket.sendText(ack, true).thenRun(() -> acked.complete(null));
                    }
                }
                socket.request(1);
                return null;
            }
        }).get(20, TimeUnit.SECONDS);
        acked.get(60, TimeUnit.SECONDS);
        Thread.sleep(300);  // let the ack reach the fake before the close frame
        ws.sendClose(WebSocket.NORMAL_CLOSURE, "done").get(10, TimeUnit.SECONDS);
        System.out.println("DONE");
    }
}
