/* Try the bot: the chat page. No build step: plain DOM, fetch and JSON.
   The server sends the bot's formatting already made safe (Telegram's tags rebuilt, text escaped);
   everything else (button texts, file names, invoices) is put in as text. */
(function () {
    "use strict";
    const root = document.getElementById("trybot");
    if (!root) return;
    const endpoints = JSON.parse(document.getElementById("trybot-endpoints").textContent);
    const chat = root.querySelector(".trybot-chat");
    const form = root.querySelector(".trybot-input");
    const input = form.querySelector("input[name=text]");
    const toast = root.querySelector(".trybot-toast");
    const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
    const labels = root.dataset;
    const FILE_ICONS = {photo: "🖼", video: "🎬", animation: "🎞", audio: "🎵", voice: "🎤", video_note: "📹", sticker: "🏷", document: "📄"};
    let shown = "";
    let busy = false;
    let toastTimer = null;

    function el(tag, className, text) {
        const node = document.createElement(tag);
        if (className) node.className = className;
        if (text !== undefined) node.textContent = text;
        return node;
    }

    function amount(value, currency) {
        return currency === "XTR" ? "⭐ " + value : (value / 100).toFixed(2) + " " + currency;
    }

    function bubble(message) {
        const item = el("div", "trybot-message " + (message.from_bot ? "from-bot" : "from-me"));
        item.dataset.id = message.id;
        const body = el("div", "trybot-bubble");
        if (message.file) {
            const card = el("div", "trybot-file");
            card.appendChild(el("span", "trybot-file-icon", FILE_ICONS[message.file.kind] || "📄"));
            card.appendChild(el("span", "trybot-file-name", message.file.name || message.file.kind));
            body.appendChild(card);
        }
        if (message.invoice) {
            const invoice = el("div", "trybot-invoice");
            invoice.appendChild(el("strong", "", message.invoice.title));
            invoice.appendChild(el("p", "", message.invoice.description));
            invoice.appendChild(el("p", "trybot-amount", amount(message.invoice.total_amount, message.invoice.currency)));
            const pay = el("button", "button default trybot-pay", message.invoice.paid ? labels.paidLabel : labels.payLabel);
            pay.type = "button";
            pay.disabled = message.invoice.paid;
            pay.addEventListener("click", () => act("pay", {message_id: message.id}));
            invoice.appendChild(pay);
            body.appendChild(invoice);
        }
        if (message.payment) {
            body.appendChild(el("div", "trybot-receipt", labels.paymentLabel + ": " + amount(message.payment.total_amount, message.payment.currency)));
        }
        if (message.html) {
            const text = el("div", "trybot-text");
            text.innerHTML = message.html; // made safe by the server (Telegram's tags only, text escaped)
            body.appendChild(text);
        }
        if (message.edited) body.appendChild(el("span", "trybot-edited", labels.editedLabel));
        item.appendChild(body);
        if (message.buttons && message.buttons.length) {
            const keyboard = el("div", "trybot-keyboard");
            for (const row of message.buttons) {
                const line = el("div", "trybot-row");
                for (const button of row) {
                    let node;
                    if (button.url) {
                        node = el("a", "trybot-button", button.text + " ↗");
                        node.href = button.url;
                        node.target = "_blank";
                        node.rel = "noopener noreferrer";
                    } else {
                        node = el("button", "trybot-button", button.text);
                        node.type = "button";
                        if (button.data) {
                            node.addEventListener("click", () => act("press", {message_id: message.id, data: button.data}));
                        } else {
                            node.disabled = true;
                        }
                    }
                    line.appendChild(node);
                }
                keyboard.appendChild(line);
            }
            item.appendChild(keyboard);
        }
        return item;
    }

    function render(messages) {
        const key = JSON.stringify(messages);
        if (key === shown) return;
        const atBottom = chat.scrollHeight - chat.scrollTop - chat.clientHeight < 40;
        shown = key;
        chat.replaceChildren(...messages.map(bubble));
        if (atBottom || busy) chat.scrollTop = chat.scrollHeight;
    }

    function showToast(text) {
        toast.textContent = text;
        toast.hidden = false;
        clearTimeout(toastTimer);
        toastTimer = setTimeout(() => { toast.hidden = true; }, 3000);
    }

    async function call(name, body) {
        const options = body === undefined
            ? {credentials: "same-origin"}
            : {method: "POST", credentials: "same-origin", headers: {"Content-Type": "application/json", "X-CSRFToken": csrf}, body: JSON.stringify(body)};
        const response = await fetch(endpoints[name], options);
        if (!response.ok) throw new Error(response.status);
        return response.json();
    }

    async function act(name, body) {
        if (busy) return;
        busy = true;
        root.classList.add("trybot-busy");
        try {
            const answer = await call(name, body);
            render(answer.messages);
            for (const text of answer.toasts || []) showToast(text);
            if (answer.checkout_error) showToast(answer.checkout_error);
        } catch (error) {
            showToast(labels.failedLabel);
        } finally {
            busy = false;
            root.classList.remove("trybot-busy");
        }
    }

    form.addEventListener("submit", (event) => {
        event.preventDefault();
        const text = input.value.trim();
        if (!text) return;
        input.value = "";
        act("send", {text: text});
    });
    root.querySelector(".trybot-command").addEventListener("click", (event) => act("send", {text: event.target.dataset.text}));
    const startOver = root.querySelector(".trybot-start-over");
    startOver.addEventListener("click", () => {
        if (window.confirm(startOver.dataset.confirm)) act("start_over", {});
    });

    async function poll() {
        if (!busy && !document.hidden) {
            try {
                render((await call("messages")).messages);
            } catch (error) { /* the next poll tries again */ }
        }
    }
    poll();
    setInterval(poll, 3000);
})();
